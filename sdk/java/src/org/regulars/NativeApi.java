package org.regulars;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * Every function of {@code regulars.h}, as JNA calls it. Strings go in as NUL-terminated UTF-8
 * bytes (see {@link NativeText}); strings come back as {@link Pointer}s, because the answer of
 * {@code regulars_hints} is the caller's to release with {@code regulars_free}, and a JNA {@code
 * String} return would copy it and lose the pointer.
 */
interface NativeApi extends Library {
  Pointer regulars_version();

  Pointer regulars_strerror(int status);

  Pointer regulars_last_error();

  int regulars_open(byte[] optionsJson, PointerByReference out);

  void regulars_close(Pointer client);

  int regulars_hints(Pointer client, byte[] requestJson, PointerByReference responseJson);

  int regulars_record(Pointer client, byte[] eventJson);

  void regulars_free(Pointer p);
}
