package org.regulars;

/**
 * libregulars could not be loaded: the file is missing, is not a shared library, or is not
 * libregulars. The message says which file was tried and who named it (the argument, {@code
 * REGULARS_PLUGIN} or the system loader). It carries no status: {@link #status()} is -1.
 */
public class RegularsLibraryException extends RegularsException {
  private static final long serialVersionUID = 1L;

  private final String library;

  RegularsLibraryException(String library, String message, Throwable cause) {
    super(message, cause);
    this.library = library;
  }

  /** The file or name that was tried. */
  public String library() {
    return library;
  }
}
