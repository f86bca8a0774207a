// Glossa test-cluster stand-in for OpenSearch's analysis-icu plugin (see ../../README.md).
// Registers the plugin's component names on top of Lucene's lucene-analysis-icu and icu4j.
package glossa.testcluster.analysis.icu;

import java.io.Reader;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import com.ibm.icu.text.Normalizer2;
import com.ibm.icu.text.Transliterator;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.icu.ICUFoldingFilter;
import org.apache.lucene.analysis.icu.ICUNormalizer2CharFilter;
import org.apache.lucene.analysis.icu.ICUNormalizer2Filter;
import org.apache.lucene.analysis.icu.ICUTransformFilter;
import org.apache.lucene.analysis.icu.segmentation.ICUTokenizer;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.analysis.AnalyzerProvider;
import org.opensearch.index.analysis.AnalyzerScope;
import org.opensearch.index.analysis.CharFilterFactory;
import org.opensearch.index.analysis.TokenFilterFactory;
import org.opensearch.index.analysis.TokenizerFactory;
import org.opensearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.opensearch.plugins.AnalysisPlugin;
import org.opensearch.plugins.Plugin;

public class AnalysisICUPlugin extends Plugin implements AnalysisPlugin {

    static Normalizer2 normalizer(Settings s) {
        String name = s.get("name", "nfkc_cf");
        String mode = s.get("mode", "compose");
        return Normalizer2.getInstance(null, name,
            "decompose".equals(mode) ? Normalizer2.Mode.DECOMPOSE : Normalizer2.Mode.COMPOSE);
    }

    static TokenFilterFactory filter(String name, Function<TokenStream, TokenStream> f) {
        return new TokenFilterFactory() {
            public String name() { return name; }
            public TokenStream create(TokenStream ts) { return f.apply(ts); }
        };
    }

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        Map<String, AnalysisProvider<CharFilterFactory>> m = new HashMap<>();
        m.put("icu_normalizer", (is, env, name, s) -> {
            Normalizer2 n = normalizer(s);
            return new CharFilterFactory() {
                public String name() { return name; }
                public Reader create(Reader r) { return new ICUNormalizer2CharFilter(r, n); }
            };
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> m = new HashMap<>();
        m.put("icu_tokenizer", (is, env, name, s) -> TokenizerFactory.newFactory(name, ICUTokenizer::new));
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new HashMap<>();
        m.put("icu_normalizer", (is, env, name, s) -> {
            Normalizer2 n = normalizer(s);
            return filter(name, ts -> new ICUNormalizer2Filter(ts, n));
        });
        m.put("icu_folding", (is, env, name, s) -> filter(name, ICUFoldingFilter::new));
        m.put("icu_transform", (is, env, name, s) -> {
            String id = s.get("id", "Null");
            int dir = "reverse".equals(s.get("dir", "forward").toLowerCase(Locale.ROOT)) ? Transliterator.REVERSE : Transliterator.FORWARD;
            Transliterator t = Transliterator.getInstance(id, dir);
            return filter(name, ts -> new ICUTransformFilter(ts, t));
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new HashMap<>();
        // icu_analyzer = icu_normalizer char filter (nfkc_cf) + icu_tokenizer + icu_folding
        m.put("icu_analyzer", (is, env, name, s) -> {
            Normalizer2 n = normalizer(s);
            Analyzer a = new Analyzer() {
                @Override protected Reader initReader(String field, Reader r) { return new ICUNormalizer2CharFilter(r, n); }
                @Override protected TokenStreamComponents createComponents(String field) {
                    Tokenizer t = new ICUTokenizer();
                    return new TokenStreamComponents(t, new ICUFoldingFilter(t));
                }
            };
            return new AnalyzerProvider<Analyzer>() {
                public String name() { return name; }
                public AnalyzerScope scope() { return AnalyzerScope.INDEX; }
                public Analyzer get() { return a; }
            };
        });
        return m;
    }
}
