// Glossa test-cluster stand-in for OpenSearch's analysis-stempel plugin (see ../../README.md).
// Registers the plugin's component names on top of Lucene's lucene-analysis-stempel.
package glossa.testcluster.analysis.stempel;

import java.util.HashMap;
import java.util.Map;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.pl.PolishAnalyzer;
import org.apache.lucene.analysis.stempel.StempelFilter;
import org.apache.lucene.analysis.stempel.StempelStemmer;
import org.opensearch.index.analysis.Analysis;
import org.opensearch.index.analysis.AnalyzerProvider;
import org.opensearch.index.analysis.AnalyzerScope;
import org.opensearch.index.analysis.TokenFilterFactory;
import org.opensearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.opensearch.plugins.AnalysisPlugin;
import org.opensearch.plugins.Plugin;

public class AnalysisStempelPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new HashMap<>();
        m.put("polish_stem", (is, env, name, s) -> new TokenFilterFactory() {
            public String name() { return name; }
            public TokenStream create(TokenStream ts) { return new StempelFilter(ts, new StempelStemmer(PolishAnalyzer.getDefaultTable())); }
        });
        m.put("polish_stop", (is, env, name, s) -> {
            CharArraySet words = Analysis.parseStopWords(env, s, PolishAnalyzer.getDefaultStopSet());
            return new TokenFilterFactory() {
                public String name() { return name; }
                public TokenStream create(TokenStream ts) { return new StopFilter(ts, words); }
            };
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new HashMap<>();
        m.put("polish", (is, env, name, s) -> {
            PolishAnalyzer a = new PolishAnalyzer(Analysis.parseStopWords(env, s, PolishAnalyzer.getDefaultStopSet()),
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
