package org.regulars;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A hints answer (sdk/PROTOCOL.md, "Hints answer") as typed values, with the library's JSON text
 * beside them. Fields newer than this binding are kept in {@link #data()} and in each item's
 * {@code fields()}, never dropped.
 */
public final class HintsAnswer {
  /** What the answer says of the customer. */
  public record Customer(boolean known, long visits, boolean personalized, Long daysSinceLast,
                         Map<String, Object> fields) {}

  /** One line for the cashier, ranked by priority (highest first). */
  public record Hint(String kind, long priority, String text, String why, Map<String, Object> fields) {}

  /** An item the customer is likely to buy, ranked by score (0-1, best first). */
  public record Prediction(String sku, String name, double score, String reason,
                           Map<String, Object> fields) {}

  /** A loyalty gesture to offer now; report what became of it with an offer_outcome event. */
  public record Offer(String offerId, String kind, String text, String why,
                      Map<String, Object> fields) {}

  private final String json;
  private final Map<String, Object> data;
  private final Customer customer;
  private final List<Hint> hints;
  private final List<Prediction> predictions;
  private final List<Offer> offers;

  private HintsAnswer(String json, Map<String, Object> data) throws Json.JsonException {
    this.json = json;
    this.data = data;
    Map<String, Object> who = object(data, "customer");
    this.customer = new Customer(bool(who, "known"), integer(who, "visits", 0),
        bool(who, "personalized"), who.containsKey("days_since_last") ? integer(who, "days_since_last", 0) : null,
        who);
    this.hints = items(data, "hints", item -> new Hint(text(item, "kind"), integer(item, "priority", 0),
        text(item, "text"), text(item, "why"), item));
    this.predictions = items(data, "predictions", item -> new Prediction(text(item, "sku"),
        text(item, "name"), number(item, "score"), text(item, "reason"), item));
    this.offers = items(data, "offers", item -> new Offer(text(item, "offer_id"), text(item, "kind"),
        text(item, "text"), text(item, "why"), item));
  }

  /**
   * Reads the library's answer. Text that is not a JSON object of the documented shape is a
   * {@link Json.JsonException} naming the field.
   */
  static HintsAnswer parse(String json) throws Json.JsonException {
    Object root = Json.parse(json);
    if (!(root instanceof Map)) throw new Json.JsonException("the answer is not a JSON object");
    @SuppressWarnings("unchecked")
    Map<String, Object> data = (Map<String, Object>) root;
    return new HintsAnswer(json, data);
  }

  /** The answer exactly as the library returned it. */
  public String json() {
    return json;
  }

  /** The parsed answer: maps, lists, strings, Long/Double numbers, booleans and nulls. */
  public Map<String, Object> data() {
    return data;
  }

  public Customer customer() {
    return customer;
  }

  public List<Hint> hints() {
    return hints;
  }

  public List<Prediction> predictions() {
    return predictions;
  }

  public List<Offer> offers() {
    return offers;
  }

  /** Whether the cashier should ask for feedback now. */
  public boolean askFeedback() {
    return data.get("ask_feedback") == Boolean.TRUE;
  }

  /** The language of the texts, e.g. "en" or "fa". */
  public String locale() {
    return data.get("locale") instanceof String ? (String) data.get("locale") : "";
  }

  /** "ltr" or "rtl": the direction to lay the texts out in. */
  public String dir() {
    return data.get("dir") instanceof String ? (String) data.get("dir") : "ltr";
  }

  @Override
  public String toString() {
    return json;
  }

  // ---- reading fields: absent means the documented default, a wrong type is an error ----------

  private interface ItemReader<T> {
    T read(Map<String, Object> item) throws Json.JsonException;
  }

  private static <T> List<T> items(Map<String, Object> data, String name, ItemReader<T> reader)
      throws Json.JsonException {
    Object value = data.get(name);
    if (value == null) return Collections.emptyList();
    if (!(value instanceof List)) throw new Json.JsonException(name + ": not an array");
    List<T> out = new ArrayList<>();
    int index = 0;
    for (Object item : (List<?>) value) {
      if (!(item instanceof Map)) throw new Json.JsonException(name + "[" + index + "]: not an object");
      @SuppressWarnings("unchecked")
      Map<String, Object> fields = (Map<String, Object>) item;
      out.add(reader.read(fields));
      index++;
    }
    return Collections.unmodifiableList(out);
  }

  private static Map<String, Object> object(Map<String, Object> data, String name) throws Json.JsonException {
    Object value = data.get(name);
    if (value == null) return Collections.emptyMap();
    if (!(value instanceof Map)) throw new Json.JsonException(name + ": not an object");
    @SuppressWarnings("unchecked")
    Map<String, Object> fields = (Map<String, Object>) value;
    return fields;
  }

  private static String text(Map<String, Object> item, String name) throws Json.JsonException {
    Object value = item.get(name);
    if (value == null) return "";
    if (!(value instanceof String)) throw new Json.JsonException(name + ": not a string");
    return (String) value;
  }

  private static boolean bool(Map<String, Object> item, String name) throws Json.JsonException {
    Object value = item.get(name);
    if (value == null) return false;
    if (!(value instanceof Boolean)) throw new Json.JsonException(name + ": not true or false");
    return (Boolean) value;
  }

  private static long integer(Map<String, Object> item, String name, long absent) throws Json.JsonException {
    Object value = item.get(name);
    if (value == null) return absent;
    if (!(value instanceof Long)) throw new Json.JsonException(name + ": not an integer");
    return (Long) value;
  }

  private static double number(Map<String, Object> item, String name) throws Json.JsonException {
    Object value = item.get(name);
    if (value == null) return 0;
    if (!(value instanceof Number)) throw new Json.JsonException(name + ": not a number");
    return ((Number) value).doubleValue();
  }
}
