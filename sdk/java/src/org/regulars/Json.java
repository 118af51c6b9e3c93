package org.regulars;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON this binding sends and reads: maps, lists, strings, numbers, booleans and null. Java has
 * no JSON parser of its own, and a till should not need a second library beside JNA for a format
 * this small.
 *
 * <p>Objects parse to {@code Map<String, Object>} in document order, arrays to {@code List<Object>},
 * integers to {@code Long} (or {@code Double} when they do not fit), other numbers to {@code
 * Double}.
 */
final class Json {
  /** The nesting the parser accepts; the daemon's answers are a few levels deep. */
  static final int MAX_DEPTH = 64;

  /** Text that is not JSON, or a value that cannot be written as JSON; says where. */
  static final class JsonException extends Exception {
    private static final long serialVersionUID = 1L;

    JsonException(String message) {
      super(message);
    }
  }

  private Json() {}

  // ---- writing ------------------------------------------------------------------------------

  /**
   * Writes a value as compact JSON. {@code root} names the value in error messages (for example
   * "options"), so that a bad entry is reported as "options.budget_ms: ...".
   */
  static String write(Object value, String root) throws JsonException {
    StringBuilder out = new StringBuilder();
    writeValue(out, value, root, 0);
    return out.toString();
  }

  private static void writeValue(StringBuilder out, Object value, String path, int depth)
      throws JsonException {
    if (depth > MAX_DEPTH) {
      throw new JsonException(path + ": nested deeper than " + MAX_DEPTH + " levels");
    }
    if (value == null) {
      out.append("null");
    } else if (value instanceof CharSequence || value instanceof Character) {
      writeString(out, value.toString());
    } else if (value instanceof Boolean) {
      out.append(value.toString());
    } else if (value instanceof Double || value instanceof Float) {
      double number = ((Number) value).doubleValue();
      if (Double.isNaN(number) || Double.isInfinite(number)) {
        throw new JsonException(path + ": " + number + " is not a JSON number");
      }
      out.append(number == Math.rint(number) && Math.abs(number) < 1e15 ? Long.toString((long) number)
                                                                         : Double.toString(number));
    } else if (value instanceof Number) {
      out.append(value.toString()); // Integer, Long, Short, Byte, BigInteger, BigDecimal
    } else if (value instanceof Map) {
      writeObject(out, (Map<?, ?>) value, path, depth);
    } else if (value instanceof Iterable) {
      writeArray(out, (Iterable<?>) value, path, depth);
    } else if (value instanceof Object[]) {
      writeArray(out, java.util.Arrays.asList((Object[]) value), path, depth);
    } else if (value instanceof java.nio.file.Path) {
      writeString(out, value.toString());
    } else {
      throw new JsonException(path + ": a " + value.getClass().getSimpleName()
          + " cannot be written as JSON (use a Map, List, String, Number, Boolean or null)");
    }
  }

  private static void writeObject(StringBuilder out, Map<?, ?> map, String path, int depth)
      throws JsonException {
    out.append('{');
    boolean first = true;
    for (Map.Entry<?, ?> entry : map.entrySet()) {
      if (!(entry.getKey() instanceof String)) {
        throw new JsonException(path + ": the key " + entry.getKey() + " is not a String");
      }
      String key = (String) entry.getKey();
      if (!first) out.append(',');
      first = false;
      writeString(out, key);
      out.append(':');
      writeValue(out, entry.getValue(), path + "." + key, depth + 1);
    }
    out.append('}');
  }

  private static void writeArray(StringBuilder out, Iterable<?> items, String path, int depth)
      throws JsonException {
    out.append('[');
    int index = 0;
    for (Object item : items) {
      if (index > 0) out.append(',');
      writeValue(out, item, path + "[" + index + "]", depth + 1);
      index++;
    }
    out.append(']');
  }

  private static void writeString(StringBuilder out, String text) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          // Control characters, and the line separators some JSON readers choke on, as \\u escapes.
          if (c < 0x20 || c == '\u2028' || c == '\u2029') {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }

  // ---- reading ------------------------------------------------------------------------------

  /** Parses one JSON value (RFC 8259, nothing but whitespace after it). */
  static Object parse(String text) throws JsonException {
    Parser parser = new Parser(text);
    parser.skipWhitespace();
    Object value = parser.value(0);
    parser.skipWhitespace();
    if (!parser.atEnd()) throw parser.error("unexpected text after the value");
    return value;
  }

  private static final class Parser {
    private final String text;
    private int at;

    Parser(String text) {
      this.text = text;
    }

    boolean atEnd() {
      return at >= text.length();
    }

    JsonException error(String what) {
      return new JsonException("at offset " + at + ": " + what);
    }

    void skipWhitespace() {
      while (!atEnd()) {
        char c = text.charAt(at);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
        at++;
      }
    }

    Object value(int depth) throws JsonException {
      if (depth > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH + " levels");
      if (atEnd()) throw error("a value was expected");
      char c = text.charAt(at);
      switch (c) {
        case '{': return object(depth);
        case '[': return array(depth);
        case '"': return string();
        case 't': return literal("true", Boolean.TRUE);
        case 'f': return literal("false", Boolean.FALSE);
        case 'n': return literal("null", null);
        default:
          if (c == '-' || (c >= '0' && c <= '9')) return number();
          throw error("unexpected character '" + c + "'");
      }
    }

    private Object literal(String word, Object value) throws JsonException {
      if (!text.startsWith(word, at)) throw error("'" + word + "' was expected");
      at += word.length();
      return value;
    }

    private Map<String, Object> object(int depth) throws JsonException {
      Map<String, Object> members = new LinkedHashMap<>();
      at++; // {
      skipWhitespace();
      if (consume('}')) return Collections.unmodifiableMap(members);
      do {
        skipWhitespace();
        if (atEnd() || text.charAt(at) != '"') throw error("a member name was expected");
        String name = string();
        skipWhitespace();
        if (!consume(':')) throw error("':' was expected");
        skipWhitespace();
        if (members.containsKey(name)) throw error("the member \"" + name + "\" appears twice");
        members.put(name, value(depth + 1));
        skipWhitespace();
      } while (consume(','));
      if (!consume('}')) throw error("',' or '}' was expected");
      return Collections.unmodifiableMap(members);
    }

    private List<Object> array(int depth) throws JsonException {
      List<Object> items = new ArrayList<>();
      at++; // [
      skipWhitespace();
      if (consume(']')) return Collections.unmodifiableList(items);
      do {
        skipWhitespace();
        items.add(value(depth + 1));
        skipWhitespace();
      } while (consume(','));
      if (!consume(']')) throw error("',' or ']' was expected");
      return Collections.unmodifiableList(items);
    }

    private boolean consume(char expected) {
      if (!atEnd() && text.charAt(at) == expected) {
        at++;
        return true;
      }
      return false;
    }

    private String string() throws JsonException {
      at++; // opening quote
      StringBuilder out = new StringBuilder();
      while (true) {
        if (atEnd()) throw error("the string is not closed");
        char c = text.charAt(at++);
        if (c == '"') return out.toString();
        if (c < 0x20) throw error("a control character inside a string");
        if (c != '\\') {
          out.append(c);
          continue;
        }
        if (atEnd()) throw error("the string is not closed");
        char escape = text.charAt(at++);
        switch (escape) {
          case '"': out.append('"'); break;
          case '\\': out.append('\\'); break;
          case '/': out.append('/'); break;
          case 'b': out.append('\b'); break;
          case 'f': out.append('\f'); break;
          case 'n': out.append('\n'); break;
          case 'r': out.append('\r'); break;
          case 't': out.append('\t'); break;
          case 'u': out.append(hexUnit()); break;
          default: throw error("unknown escape '\\" + escape + "'");
        }
      }
    }

    private char hexUnit() throws JsonException {
      if (at + 4 > text.length()) throw error("\\u needs four hex digits");
      int unit = 0;
      for (int i = 0; i < 4; i++) {
        int digit = Character.digit(text.charAt(at++), 16);
        if (digit < 0) throw error("\\u needs four hex digits");
        unit = unit * 16 + digit;
      }
      return (char) unit; // surrogate pairs arrive as two escapes and join in the StringBuilder
    }

    private Number number() throws JsonException {
      int start = at;
      consume('-');
      if (consume('0')) {
        // a leading zero stands alone
      } else if (!digits()) {
        throw error("a digit was expected");
      }
      boolean integral = true;
      if (consume('.')) {
        integral = false;
        if (!digits()) throw error("a digit was expected after '.'");
      }
      if (!atEnd() && (text.charAt(at) == 'e' || text.charAt(at) == 'E')) {
        integral = false;
        at++;
        if (!consume('+')) consume('-');
        if (!digits()) throw error("a digit was expected in the exponent");
      }
      String literal = text.substring(start, at);
      if (integral) {
        try {
          return Long.parseLong(literal);
        } catch (NumberFormatException tooLarge) {
          return Double.parseDouble(literal);
        }
      }
      return Double.parseDouble(literal);
    }

    private boolean digits() {
      int start = at;
      while (!atEnd() && text.charAt(at) >= '0' && text.charAt(at) <= '9') at++;
      return at > start;
    }
  }
}
