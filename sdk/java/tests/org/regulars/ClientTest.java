package org.regulars;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.CoreMatchers.hasItem;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Open, hints, record and close against a real regularsd. */
public class ClientTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  private Daemon daemon;

  @Before
  public void startDaemon() throws Exception {
    daemon = Daemon.start(folder.getRoot().toPath().resolve("data"));
  }

  @After
  public void stopDaemon() throws Exception {
    daemon.close();
  }

  static Map<String, Object> card(String value) {
    return Map.of("kind", "card", "value", value);
  }

  static Map<String, Object> consent(String cardValue) {
    return Map.of("type", "consent", "customer", card(cardValue),
        "purposes", Map.of("remember", true, "personalize", true));
  }

  static Map<String, Object> oatMilkPurchase(String cardValue, String eventId) {
    return Map.of("type", "purchase", "event_id", eventId, "customer", card(cardValue), "currency", "EUR",
        "lines", List.of(Map.of("sku", "oat-milk", "name", "Oat milk", "qty", 1, "unit_price", 199)));
  }

  @Test
  public void opensAndClosesTwiceAndRefusesCallsAfterClose() throws Exception {
    assertTrue(RegularsClient.libraryVersion(Daemon.plugin()).matches("\\d+\\.\\d+\\.\\d+"));
    RegularsClient client = RegularsClient.open(Daemon.plugin(), daemon.options());
    client.close();
    client.close();
    IllegalStateException closed =
        assertThrows(IllegalStateException.class, () -> client.hints(Map.of("customer", card("4000001"))));
    assertThat(closed.getMessage(), containsString("closed"));
  }

  @Test
  public void hintsRecogniseACustomerAfterAPurchase() throws Exception {
    try (RegularsClient client = RegularsClient.open(Daemon.plugin(), daemon.options())) {
      HintsAnswer before = client.hints(Map.of("customer", card("4000123")));
      assertFalse(before.customer().known());

      client.record(consent("4000123"));
      client.record(oatMilkPurchase("4000123", "java-purchase-1"));

      HintsAnswer answer = client.hints(Map.of("customer", card("4000123"), "locale", "en"));
      assertTrue(answer.customer().known());
      assertTrue(answer.customer().personalized());
      assertEquals(1, answer.customer().visits());
      assertEquals("greeting", answer.hints().get(0).kind());
      assertThat(skus(answer), hasItem("oat-milk"));
      assertEquals("en", answer.locale());
      assertEquals("ltr", answer.dir());
      // The raw text is the library's answer, and the parsed view is that text.
      assertThat(answer.json(), containsString("\"oat-milk\""));
      assertEquals(Json.parse(answer.json()), answer.data());
    }
  }

  @Test
  public void recordingTheSameEventTwiceCountsOneVisit() throws Exception {
    try (RegularsClient client = RegularsClient.open(Daemon.plugin(), daemon.options())) {
      client.record(consent("4000200"));
      String purchase = "{\"type\": \"purchase\", \"event_id\": \"java-raw-1\", "
          + "\"customer\": {\"kind\": \"card\", \"value\": \"4000200\"}, "
          + "\"lines\": [{\"sku\": \"bread\", \"qty\": 2, \"unit_price\": 250}]}";
      client.record(purchase);
      client.record(purchase); // a retry: the daemon keeps one event per event_id
      client.record(oatMilkPurchase("4000200", "java-raw-2"));

      HintsAnswer answer = client.hints("{\"customer\": {\"kind\": \"card\", \"value\": \"4000200\"}}");
      assertEquals(2, answer.customer().visits());
      assertThat(skus(answer), hasItem("bread"));
    }
  }

  @Test
  public void optionsAsRawJsonAndTheLibraryFromTheEnvironment() throws Exception {
    String options = "{\"endpoint\": \"" + daemon.endpoint() + "\", \"budget_ms\": 5000}";
    try (RegularsClient client = RegularsClient.open(options)) {
      client.record(consent("4000300"));
      client.record(oatMilkPurchase("4000300", "java-env-1"));
      assertEquals(1, client.hints(Map.of("customer", card("4000300"))).customer().visits());
    }
  }

  @Test
  public void hintsAreUnavailableAtOnceWhenTheDaemonIsGone() throws Exception {
    daemon.stop();
    try (RegularsClient client = RegularsClient.open(Daemon.plugin(),
        new RegularsOptions().endpoint(daemon.endpoint()).budgetMs(50))) {
      long start = System.nanoTime();
      RegularsException.Unavailable e = assertThrows(RegularsException.Unavailable.class,
          () -> client.hints(Map.of("customer", card("4000123"))));
      long elapsedMs = (System.nanoTime() - start) / 1_000_000;
      assertEquals(RegularsStatus.UNAVAILABLE.code(), e.status());
      // The budget is 50 ms; the margin is for a busy shared test machine, not for the library.
      assertTrue("hints took " + elapsedMs + " ms", elapsedMs < 1000);
      // Without a spool, a record the daemon cannot take is refused, not lost silently.
      assertThrows(RegularsException.Unavailable.class, () -> client.record(oatMilkPurchase("4000123", "java-gone-1")));
    }
  }

  @Test
  public void severalThreadsShareOneClient() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (RegularsClient client = RegularsClient.open(Daemon.plugin(), daemon.options())) {
      client.record(consent("4000400"));
      List<Future<Long>> visits = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int thread = i;
        visits.add(pool.submit(() -> {
          client.record(oatMilkPurchase("4000400", "java-thread-" + thread));
          long seen = 0;
          for (int j = 0; j < 25; j++) seen = client.hints(Map.of("customer", card("4000400"))).customer().visits();
          return seen;
        }));
      }
      for (Future<Long> seen : visits) assertTrue(seen.get() >= 1);
      assertEquals(4, client.hints(Map.of("customer", card("4000400"))).customer().visits());
    } finally {
      pool.shutdown();
    }
  }

  @Test
  public void closingWhileOtherThreadsCallEndsTheirCallsCleanly() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      RegularsClient client = RegularsClient.open(Daemon.plugin(), daemon.options());
      List<Future<Integer>> answered = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        answered.add(pool.submit(() -> {
          int count = 0;
          while (true) {
            try {
              client.hints(Map.of("customer", card("4000600")));
              count++;
            } catch (IllegalStateException closed) {
              return count; // the only way out: the client was closed under it
            }
          }
        }));
      }
      Thread.sleep(200);
      client.close();
      for (Future<Integer> count : answered) assertTrue(count.get() > 0);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  public void theExampleTillPrintsHintsAndRecords() throws Exception {
    try (RegularsClient client = RegularsClient.open(Daemon.plugin(), daemon.options())) {
      client.record(consent("4000500"));
      client.record(oatMilkPurchase("4000500", "java-example-0"));
    }
    String[] args = {"--endpoint", daemon.endpoint(), "--card", "4000500", "--budget-ms", "5000",
                     "--library", Daemon.plugin().toString()};
    String first = runExampleTill(args);
    assertThat(first, containsString("customer known: 1 visits"));
    assertThat(first, containsString("likely: Oat milk"));
    assertThat(first, containsString("purchase recorded"));
    assertThat(runExampleTill(args), containsString("customer known: 2 visits"));
  }

  /** Runs examples/Till.java (in the unnamed package, so reached by reflection); returns its output. */
  private static String runExampleTill(String[] args) throws Exception {
    Method run = Class.forName("Till").getMethod("run", String[].class, PrintStream.class, PrintStream.class);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = (int) run.invoke(null, args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    if (status != 0) fail("the example till exited with " + status + ": " + err.toString(StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }

  static List<String> skus(HintsAnswer answer) {
    return answer.predictions().stream().map(HintsAnswer.Prediction::sku).collect(Collectors.toList());
  }
}
