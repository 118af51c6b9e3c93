package org.regulars;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The binding's own JSON reader and writer. */
public class JsonTest {
  @Test
  public void writesMapsListsAndEscapes() throws Exception {
    Map<String, Object> value = new LinkedHashMap<>();
    value.put("text", "a \"quoted\" \\ line\nand a tab\t\u0001");
    value.put("persian", "شیر جو");
    value.put("numbers", Arrays.asList(1, -2L, 2.5, 3.0, null, true));
    assertEquals("{\"text\":\"a \\\"quoted\\\" \\\\ line\\nand a tab\\t\\u0001\",\"persian\":\"شیر جو\","
        + "\"numbers\":[1,-2,2.5,3,null,true]}", Json.write(value, "value"));
  }

  @Test
  public void readsWhatItWrites() throws Exception {
    Map<String, Object> value = new LinkedHashMap<>();
    value.put("nested", Map.of("list", List.of("x", 1L, 0.25, false)));
    value.put("emoji", "\uD83D\uDED2 cart");
    value.put("empty", Map.of());
    assertEquals(value, Json.parse(Json.write(value, "value")));
  }

  @Test
  public void readsEscapesAndNumbers() throws Exception {
    assertEquals(List.of("é/\uD83D\uDED2", 12345678901L, -0.5, 1e21, 1.5e-3),
        Json.parse(" [\"\\u00e9\\/\\ud83d\\uded2\", 12345678901, -0.5, 1e21, 15E-4] "));
  }

  @Test
  public void refusesWhatIsNotJson() {
    for (String bad : List.of("", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", "\"tab\there\"",
        "\"\\x\"", "tru", "{} {}", "{\"a\":1,\"a\":2}", "[\"unclosed")) {
      assertThrows(bad, Json.JsonException.class, () -> Json.parse(bad));
    }
    String deep = "[".repeat(Json.MAX_DEPTH + 2) + "]".repeat(Json.MAX_DEPTH + 2);
    assertThat(assertThrows(Json.JsonException.class, () -> Json.parse(deep)).getMessage(), containsString("deeper"));
  }

  @Test
  public void refusesValuesJsonCannotHoldNamingWhere() {
    Json.JsonException e = assertThrows(Json.JsonException.class,
        () -> Json.write(Map.of("lines", List.of(Map.of("qty", Double.POSITIVE_INFINITY))), "event"));
    assertThat(e.getMessage(), containsString("event.lines[0].qty"));
    assertThrows(Json.JsonException.class, () -> Json.write(Map.of(1, "x"), "event"));
  }
}
