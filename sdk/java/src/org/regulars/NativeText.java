package org.regulars;

import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;

/** Text across the C interface: NUL-terminated UTF-8 both ways. */
final class NativeText {
  private NativeText() {}

  /**
   * The text as a C string. A NUL inside it would silently cut the JSON short on the C side, so it
   * is refused; JSON itself writes one as the escape \u0000.
   */
  static byte[] toC(String text) {
    if (text.indexOf('\0') >= 0) throw new IllegalArgumentException("contains a NUL character");
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    byte[] terminated = new byte[utf8.length + 1];
    System.arraycopy(utf8, 0, terminated, 0, utf8.length);
    return terminated;
  }

  /** A C string the library returned, or "" for NULL. */
  static String fromC(Pointer text) {
    return text == null ? "" : text.getString(0, StandardCharsets.UTF_8.name());
  }
}
