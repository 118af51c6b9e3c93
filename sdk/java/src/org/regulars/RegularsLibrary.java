package org.regulars;

import com.sun.jna.Native;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** A loaded libregulars, and who named it. Each file is loaded once per process and kept. */
final class RegularsLibrary {
  // By the name handed to the loader: a library is loaded once, whoever names it.
  private static final ConcurrentMap<String, NativeApi> LOADED = new ConcurrentHashMap<>();

  final NativeApi api;
  final LibraryLocation location;

  private RegularsLibrary(NativeApi api, LibraryLocation location) {
    this.api = api;
    this.location = location;
  }

  /** The library named by {@code explicit}, else by REGULARS_PLUGIN, else by the system loader. */
  static RegularsLibrary load(Path explicit) throws RegularsLibraryException {
    LibraryLocation location =
        LibraryLocation.resolve(explicit, System.getenv(), System.getProperty("os.name"));
    NativeApi api = LOADED.get(location.name);
    if (api == null) {
      NativeApi loaded = loadApi(location);
      NativeApi raced = LOADED.putIfAbsent(location.name, loaded);
      api = raced == null ? loaded : raced;
    }
    return new RegularsLibrary(api, location);
  }

  private static NativeApi loadApi(LibraryLocation location) throws RegularsLibraryException {
    NativeApi api;
    try {
      api = Native.load(location.name, NativeApi.class);
    } catch (UnsatisfiedLinkError e) {
      String advice = location.source.equals("the system loader")
          ? " (pass the library's path, or set " + LibraryLocation.ENVIRONMENT_VARIABLE + ")" : "";
      throw new RegularsLibraryException(location.name,
          "cannot load libregulars from " + location + ": " + loaderReason(e.getMessage()) + advice, e);
    }
    try {
      api.regulars_version();
    } catch (UnsatisfiedLinkError e) {
      throw new RegularsLibraryException(location.name,
          location + " does not export regulars_version; it is not libregulars", e);
    }
    return api;
  }

  // JNA's message is "Unable to load library 'NAME':" and then, one per line, what each attempt
  // said; the first attempt's line is the system loader's own reason (dlerror on Linux).
  private static String loaderReason(String message) {
    if (message == null) return "unknown reason";
    String[] lines = message.split("\n");
    return lines.length > 1 ? lines[1].trim() : lines[0];
  }
}
