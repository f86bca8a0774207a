// Glossa test-cluster stand-in for OpenSearch's analysis-smartcn plugin (see ../../README.md).
// Registers the plugin's component names on top of Lucene's lucene-analysis-smartcn.
package glossa.testcluster.analysis.smartcn;

import java.util.HashMap;
import java.util.Map;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cn.smart.HMMChineseTokenizer;
import org.apache.lucene.analysis.cn.smart.SmartChineseAnalyzer;
import org.opensearch.index.analysis.Analysis;
import org.opensearch.index.analysis.AnalyzerProvider;
import org.opensearch.index.analysis.AnalyzerScope;
import org.opensearch.index.analysis.TokenFilterFactory;
import org.opensearch.index.analysis.TokenizerFactory;
import org.opensearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.opensearch.plugins.AnalysisPlugin;
import org.opensearch.plugins.Plugin;

public class AnalysisSmartChinesePlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> m = new HashMap<>();
        m.put("smartcn_tokenizer", (is, env, name, s) -> TokenizerFactory.newFactory(name, HMMChineseTokenizer::new));
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new HashMap<>();
        m.put("smartcn_stop", (is, env, name, s) -> {
            CharArraySet words = Analysis.parseStopWords(env, s, SmartChineseAnalyzer.getDefaultStopSet());
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
        m.put("smartcn", (is, env, name, s) -> {
            SmartChineseAnalyzer a = new SmartChineseAnalyzer(Analysis.parseStopWords(env, s, SmartChineseAnalyzer.getDefaultStopSet()));
            return new AnalyzerProvider<Analyzer>() {
                public String name() { return name; }
                public AnalyzerScope scope() { return AnalyzerScope.INDEX; }
                public Analyzer get() { return a; }
            };
        });
        return m;
    }
}
