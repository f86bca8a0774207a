// Glossa test-cluster stand-in for OpenSearch's analysis-ukrainian plugin (see ../../README.md).
// Registers the plugin's analyzer name on top of Lucene's lucene-analysis-morfologik.
package glossa.testcluster.analysis.ukrainian;

import java.util.HashMap;
import java.util.Map;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.uk.UkrainianMorfologikAnalyzer;
import org.opensearch.index.analysis.Analysis;
import org.opensearch.index.analysis.AnalyzerProvider;
import org.opensearch.index.analysis.AnalyzerScope;
import org.opensearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.opensearch.plugins.AnalysisPlugin;
import org.opensearch.plugins.Plugin;

public class AnalysisUkrainianPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new HashMap<>();
        m.put("ukrainian", (is, env, name, s) -> {
            UkrainianMorfologikAnalyzer a = new UkrainianMorfologikAnalyzer(
                Analysis.parseStopWords(env, s, UkrainianMorfologikAnalyzer.getDefaultStopwords()),
                Analysis.parseStemExclusion(s, CharArraySet.EMPTY_SET));
            return new AnalyzerProvider<Analyzer>() {
                public String name() { return name; }
                public AnalyzerScope scope() { return AnalyzerScope.INDEX; }
                public Analyzer get() { return a; }
            };
        });
        return m;
    }
}
