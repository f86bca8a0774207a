// One OpenSearch 2.19.6 node per JVM, started through org.opensearch.node.Node (no tarball).
//
//   java -cp "$CACHE/lib/*:$CACHE/classes" TestCluster <path.home>
//
// <path.home>/config/opensearch.yml holds the node's settings (cluster.sh writes it);
// <path.home>/plugins/<name>/ holds the analysis plugins, loaded and jar-hell-checked by
// OpenSearch's own PluginsService. The modules a distribution ships under modules/ are on the
// classpath here and are passed to Node as classpath plugins. SIGTERM closes the node cleanly.
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public class TestCluster {

    // modules of the 2.19 distribution that are on the classpath (class names checked on 2.19.6)
    static final String[] MODULES = {
        "org.opensearch.transport.Netty4Plugin",                  // transport-netty4-client
        "org.opensearch.analysis.common.CommonAnalysisPlugin",    // analysis-common
        "org.opensearch.painless.PainlessPlugin",                 // lang-painless
        "org.opensearch.index.reindex.ReindexPlugin",             // reindex-client
        "org.opensearch.index.mapper.MapperExtrasPlugin",         // mapper-extras-client
    };

    static final class TestNode extends Node {
        TestNode(Environment env, Collection<Class<? extends Plugin>> classpathPlugins) {
            // forbidPrivateIndexSettings = true, as for a production node
            super(env, classpathPlugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: TestCluster <path.home>");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath().normalize();
        Path config = home.resolve("config");
        if (!Files.isRegularFile(config.resolve("opensearch.yml"))) {
            throw new IllegalArgumentException("missing " + config.resolve("opensearch.yml"));
        }
        Settings input = Settings.builder().put("path.home", home.toString()).build();
        // loads config/opensearch.yml, as the distribution's bootstrap does
        Environment env = InternalSettingsPreparer.prepareEnvironment(input, Collections.emptyMap(), config,
            () -> { throw new IllegalArgumentException("node.name must be set in opensearch.yml"); });

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : MODULES) {
            plugins.add(Class.forName(name).asSubclass(Plugin.class)); // a wrong name fails loudly
        }

        Node node = new TestNode(env, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (!node.awaitClose(30, TimeUnit.SECONDS)) {
                    System.err.println("node did not close within 30 s");
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "glossa-testcluster-shutdown"));
        node.start();
        System.out.println("TestCluster: node " + Node.NODE_NAME_SETTING.get(env.settings()) + " started");
        stopped.await(); // the JVM lives until SIGTERM/SIGINT
    }
}
