package org.regulars;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.CoreMatchers.hasItem;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.nio.file.Path;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** An event recorded while regularsd is down is spooled, acknowledged, and arrives once it is back. */
public class SpoolTest {
  private static final long DELIVERY_TIMEOUT_MS = 30_000;

  @Rule public TemporaryFolder folder = new TemporaryFolder();

  @Test
  public void aPurchaseRecordedWhileTheDaemonIsDownArrivesAfterItsRestart() throws Exception {
    Path spool = folder.getRoot().toPath().resolve("spool");
    try (Daemon daemon = Daemon.start(folder.getRoot().toPath().resolve("data"));
         RegularsClient client = RegularsClient.open(Daemon.plugin(), daemon.options().spoolDir(spool))) {
      // While the daemon is up: the customer's consent, and a hello, which teaches the client the spool key.
      client.record(ClientTest.consent("4000777"));
      assertEquals(0, client.hints(Map.of("customer", ClientTest.card("4000777"))).customer().visits());

      daemon.stop();
      assertThrows(RegularsException.Unavailable.class,
          () -> client.hints(Map.of("customer", ClientTest.card("4000777"))));
      client.record(ClientTest.oatMilkPurchase("4000777", "java-spooled-1")); // OK: durable in the spool

      daemon.restart();
      HintsAnswer answer = awaitVisits(client, "4000777", 1);
      assertThat(ClientTest.skus(answer), hasItem("oat-milk"));
      // The owner's export holds the event under the id the till gave it.
      assertThat(daemon.regularsctl("export", "--kind", "card", "--value", "4000777"),
          containsString("java-spooled-1"));
    }
  }

  /** Asks for hints until the customer has {@code visits} visits: the spool replays in the background. */
  private static HintsAnswer awaitVisits(RegularsClient client, String cardValue, long visits) throws Exception {
    long deadline = System.currentTimeMillis() + DELIVERY_TIMEOUT_MS;
    String last = "no answer";
    while (System.currentTimeMillis() < deadline) {
      try {
        HintsAnswer answer = client.hints(Map.of("customer", ClientTest.card(cardValue)));
        if (answer.customer().visits() == visits) return answer;
        last = answer.customer().visits() + " visits";
      } catch (RegularsException.Unavailable | RegularsException.Timeout e) {
        last = e.getMessage(); // still reconnecting
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the spooled purchase did not arrive within " + DELIVERY_TIMEOUT_MS + " ms (" + last + ")");
  }
}
