// An example till: opens a Regulars client, asks for hints for a loyalty card with the basket
// scanned so far, prints them for the cashier, and records the purchase when the customer pays.
//
//   java -cp regulars.jar:/usr/share/java/jna.jar:regulars-till-example.jar Till \
//        --endpoint unix:/tmp/regulars-demo/regularsd.sock --card 4000123
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.regulars.HintsAnswer;
import org.regulars.RegularsClient;
import org.regulars.RegularsException;
import org.regulars.RegularsOptions;

public final class Till {
  private Till() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one checkout; returns the process's exit status (0 done, 1 failed, 2 bad arguments). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    RegularsOptions options = new RegularsOptions()
        .endpoint("unix:/var/lib/regulars/regularsd.sock").terminal("java-till").cashier("c-01");
    Path library = null;
    String card = "4000123";
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--endpoint": options.endpoint(args[i + 1]); break;
        case "--card": card = args[i + 1]; break;
        case "--spool": options.spoolDir(Path.of(args[i + 1])); break;
        case "--budget-ms": options.budgetMs(Integer.parseInt(args[i + 1])); break;
        case "--library": library = Path.of(args[i + 1]); break;
        default:
          err.println("usage: Till [--endpoint E] [--card C] [--spool DIR] [--budget-ms N] [--library PATH]");
          return 2;
      }
    }
    Map<String, Object> customer = Map.of("kind", "card", "value", card);
    // What the cashier has scanned so far; at payment the same items become the purchase's lines.
    List<Map<String, Object>> basket = List.of(Map.of("sku", "sourdough", "name", "Sourdough loaf", "qty", 1));
    List<Map<String, Object>> lines = List.of(
        Map.of("sku", "sourdough", "name", "Sourdough loaf", "qty", 1, "unit_price", 325));

    try (RegularsClient client = RegularsClient.open(library, options)) {
      printHints(client, customer, basket, out);
      client.record(Map.of("type", "purchase", "customer", customer, "currency", "GBP", "lines", lines));
      out.println("purchase recorded");
      return 0;
    } catch (RegularsException e) {
      // Never the customer's identifier in a log: the library's messages do not carry it either.
      err.println("till: " + e.getMessage());
      return 1;
    }
  }

  private static void printHints(RegularsClient client, Map<String, Object> customer,
                                 List<Map<String, Object>> basket, PrintStream out) throws RegularsException {
    HintsAnswer answer;
    try {
      answer = client.hints(Map.of("customer", customer, "basket", basket, "locale", "en"));
    } catch (RegularsException.Unavailable | RegularsException.Timeout e) {
      out.println("(no hints now: " + e.statusName() + ")"); // the checkout goes on without them
      return;
    }
    if (!answer.customer().known()) {
      out.println("new customer");
      return;
    }
    out.println("customer known: " + answer.customer().visits() + " visits");
    for (HintsAnswer.Hint hint : answer.hints()) {
      out.println("  * " + hint.text());
    }
    for (HintsAnswer.Prediction prediction : answer.predictions()) {
      out.printf("  likely: %s (%.2f, %s)%n", prediction.name(), prediction.score(), prediction.reason());
    }
  }
}
