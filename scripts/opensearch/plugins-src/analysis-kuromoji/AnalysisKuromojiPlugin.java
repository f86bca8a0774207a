// Glossa test-cluster stand-in for OpenSearch's analysis-kuromoji plugin (see ../../README.md).
// Registers the plugin's component names on top of Lucene's lucene-analysis-kuromoji.
package glossa.testcluster.analysis.kuromoji;

import java.io.Reader;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ja.JapaneseAnalyzer;
import org.apache.lucene.analysis.ja.JapaneseBaseFormFilter;
import org.apache.lucene.analysis.ja.JapaneseIterationMarkCharFilter;
import org.apache.lucene.analysis.ja.JapaneseKatakanaStemFilter;
import org.apache.lucene.analysis.ja.JapaneseNumberFilter;
import org.apache.lucene.analysis.ja.JapanesePartOfSpeechStopFilter;
import org.apache.lucene.analysis.ja.JapaneseReadingFormFilter;
import org.apache.lucene.analysis.ja.JapaneseTokenizer;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.analysis.Analysis;
import org.opensearch.index.analysis.AnalyzerProvider;
import org.opensearch.index.analysis.AnalyzerScope;
import org.opensearch.index.analysis.CharFilterFactory;
import org.opensearch.index.analysis.TokenFilterFactory;
import org.opensearch.index.analysis.TokenizerFactory;
import org.opensearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.opensearch.plugins.AnalysisPlugin;
import org.opensearch.plugins.Plugin;

public class AnalysisKuromojiPlugin extends Plugin implements AnalysisPlugin {

    static JapaneseTokenizer.Mode mode(Settings s) {
        String m = s.get("mode", "search");
        switch (m.toLowerCase(java.util.Locale.ROOT)) {
            case "normal": return JapaneseTokenizer.Mode.NORMAL;
            case "search": return JapaneseTokenizer.Mode.SEARCH;
            case "extended": return JapaneseTokenizer.Mode.EXTENDED;
            default: throw new IllegalArgumentException("unknown kuromoji mode [" + m + "]");
        }
    }

    static Set<String> stopTags(Settings s) {
        List<String> tags = s.getAsList("stoptags", null);
        return tags == null ? JapaneseAnalyzer.getDefaultStopTags() : new HashSet<>(tags);
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
        m.put("kuromoji_iteration_mark", (is, env, name, s) -> {
            boolean kanji = s.getAsBoolean("normalize_kanji", true);
            boolean kana = s.getAsBoolean("normalize_kana", true);
            return new CharFilterFactory() {
                public String name() { return name; }
                public Reader create(Reader r) { return new JapaneseIterationMarkCharFilter(r, kanji, kana); }
            };
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> m = new HashMap<>();
        m.put("kuromoji_tokenizer", (is, env, name, s) -> {
            JapaneseTokenizer.Mode mode = mode(s);
            boolean discardPunct = s.getAsBoolean("discard_punctuation", true);
            boolean discardCompound = s.getAsBoolean("discard_compound_token", false);
            return TokenizerFactory.newFactory(name, () -> new JapaneseTokenizer(null, discardPunct, discardCompound, mode));
        });
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new HashMap<>();
        m.put("kuromoji_baseform", (is, env, name, s) -> filter(name, JapaneseBaseFormFilter::new));
        m.put("kuromoji_part_of_speech", (is, env, name, s) -> {
            Set<String> tags = stopTags(s);
            return filter(name, ts -> new JapanesePartOfSpeechStopFilter(ts, tags));
        });
        m.put("kuromoji_readingform", (is, env, name, s) -> {
            boolean romaji = s.getAsBoolean("use_romaji", false);
            return filter(name, ts -> new JapaneseReadingFormFilter(ts, romaji));
        });
        m.put("kuromoji_stemmer", (is, env, name, s) -> {
            int min = s.getAsInt("minimum_length", JapaneseKatakanaStemFilter.DEFAULT_MINIMUM_LENGTH);
            return filter(name, ts -> new JapaneseKatakanaStemFilter(ts, min));
        });
        m.put("ja_stop", (is, env, name, s) -> {
            CharArraySet words = Analysis.parseStopWords(env, s, JapaneseAnalyzer.getDefaultStopSet());
            return filter(name, ts -> new StopFilter(ts, words));
        });
        m.put("kuromoji_number", (is, env, name, s) -> filter(name, JapaneseNumberFilter::new));
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new HashMap<>();
        m.put("kuromoji", (is, env, name, s) -> {
            CharArraySet stop = Analysis.parseStopWords(env, s, JapaneseAnalyzer.getDefaultStopSet());
            JapaneseAnalyzer a = new JapaneseAnalyzer(null, mode(s), stop, stopTags(s));
            return new AnalyzerProvider<Analyzer>() {
                public String name() { return name; }
                public AnalyzerScope scope() { return AnalyzerScope.INDEX; }
                public Analyzer get() { return a; }
            };
        });
        return m;
    }
}
