package org.regulars;

import java.nio.file.Path;
import java.util.Map;

/**
 * Which libregulars to load, and who named it. The same order in every binding: an explicit path
 * wins, then the environment variable {@code REGULARS_PLUGIN} (the name the till simulator reads
 * too), then the system loader's name for the library.
 */
final class LibraryLocation {
  static final String ENVIRONMENT_VARIABLE = "REGULARS_PLUGIN";
  static final String LINUX_NAME = "libregulars.so.0";
  static final String WINDOWS_NAME = "regulars.dll";

  /** What is handed to the loader: a path, or a bare name for the system's search. */
  final String name;
  /** Who chose it, for error messages: "the argument", "REGULARS_PLUGIN", "the system loader". */
  final String source;

  private LibraryLocation(String name, String source) {
    this.name = name;
    this.source = source;
  }

  static LibraryLocation resolve(Path explicit, Map<String, String> environment, String osName) {
    if (explicit != null) {
      return new LibraryLocation(explicit.toAbsolutePath().toString(), "the argument");
    }
    String fromEnvironment = environment.get(ENVIRONMENT_VARIABLE);
    if (fromEnvironment != null && !fromEnvironment.isEmpty()) {
      return new LibraryLocation(fromEnvironment, ENVIRONMENT_VARIABLE);
    }
    boolean windows = osName != null && osName.toLowerCase(java.util.Locale.ROOT).startsWith("windows");
    return new LibraryLocation(windows ? WINDOWS_NAME : LINUX_NAME, "the system loader");
  }

  @Override
  public String toString() {
    return name + " (named by " + source + ")";
  }
}
