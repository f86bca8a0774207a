// Glossa test-cluster stand-in for OpenSearch's analysis-nori plugin (see ../../README.md).
// Registers the plugin's component names on top of Lucene's lucene-analysis-nori.
package glossa.testcluster.analysis.nori;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ko.KoreanAnalyzer;
import org.apache.lucene.analysis.ko.KoreanNumberFilter;
import org.apache.lucene.analysis.ko.KoreanPartOfSpeechStopFilter;
import org.apache.lucene.analysis.ko.KoreanReadingFormFilter;
import org.apache.lucene.analysis.ko.KoreanTokenizer;
import org.apache.lucene.analysis.ko.POS;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.analysis.AnalyzerProvider;
import org.opensearch.index.analysis.AnalyzerScope;
import org.opensearch.index.analysis.TokenFilterFactory;
import org.opensearch.index.analysis.TokenizerFactory;
import org.opensearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.opensearch.plugins.AnalysisPlugin;
import org.opensearch.plugins.Plugin;

public class AnalysisNoriPlugin extends Plugin implements AnalysisPlugin {

    static KoreanTokenizer.DecompoundMode decompound(Settings s) {
        return KoreanTokenizer.DecompoundMode.valueOf(s.get("decompound_mode", "discard").toUpperCase(Locale.ROOT));
    }

    static Set<POS.Tag> stopTags(Settings s) {
        List<String> tags = s.getAsList("stoptags", null);
        if (tags == null) return KoreanPartOfSpeechStopFilter.DEFAULT_STOP_TAGS;
        Set<POS.Tag> out = new HashSet<>();
        for (String t : tags) out.add(POS.resolveTag(t));
        return out;
    }

    static TokenFilterFactory filter(String name, Function<TokenStream, TokenStream> f) {
        return new TokenFilterFactory() {
            public String name() { return name; }
            public TokenStream create(TokenStream ts) { return f.apply(ts); }
        };
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> m = new HashMap<>();
        m.put("nori_tokenizer", (is, env, name, s) -> {
            KoreanTokenizer.DecompoundMode mode = decompound(s);
            boolean discardPunct = s.getAsBoolean("discard_punctuation", true);
            boolean unknownUnigrams = s.getAsBoolean("output_unknown_unigrams", false);
            return TokenizerFactory.newFactory(name,
                () -> new KoreanTokenizer(TokenStream.DEFAULT_TOKEN_ATTRIBUTE_FACTORY, null, mode, unknownUnigrams, discardPunct));
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new HashMap<>();
        m.put("nori_part_of_speech", (is, env, name, s) -> {
            Set<POS.Tag> tags = stopTags(s);
            return filter(name, ts -> new KoreanPartOfSpeechStopFilter(ts, tags));
        });
        m.put("nori_readingform", (is, env, name, s) -> filter(name, KoreanReadingFormFilter::new));
        m.put("nori_number", (is, env, name, s) -> filter(name, KoreanNumberFilter::new));
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new HashMap<>();
        m.put("nori", (is, env, name, s) -> {
            KoreanAnalyzer a = new KoreanAnalyzer(null, decompound(s), stopTags(s), false);
            return new AnalyzerProvider<Analyzer>() {
                public String name() { return name; }
                public AnalyzerScope scope() { return AnalyzerScope.INDEX; }
                public Analyzer get() { return a; }
            };
        });
        return m;
    }
}
