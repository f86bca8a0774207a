//! Sources: where records come from. Each source reads raw records, submits them to the pipeline
//! with [`crate::pipeline::Admission::Wait`] (so a slow index slows reading, not memory), and
//! learns from each acknowledgement what is safe to consider done.

pub mod file;
