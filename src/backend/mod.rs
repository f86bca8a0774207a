//! Index backends: where documents are stored and searched. The embedded Tantivy index is the
//! default; the OpenSearch cluster backend will sit beside it behind the same pipeline and API.

pub mod embedded;
