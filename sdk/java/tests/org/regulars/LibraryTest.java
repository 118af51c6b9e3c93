package org.regulars;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assume.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Finding libregulars: the argument, then REGULARS_PLUGIN, then the system loader; clear errors. */
public class LibraryTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  @Test
  public void aMissingFileIsALibraryErrorNamingItAndWhoChoseIt() {
    Path missing = folder.getRoot().toPath().resolve("no-such-libregulars.so");
    RegularsLibraryException e = assertThrows(RegularsLibraryException.class,
        () -> RegularsClient.open(missing, Map.of()));
    assertEquals(missing.toString(), e.library());
    assertThat(e.getMessage(), containsString(missing.toString()));
    assertThat(e.getMessage(), containsString("named by the argument"));
    assertThat(e.getMessage(), containsString("No such file or directory"));
    assertEquals(-1, e.status());
  }

  @Test
  public void aFileThatIsNotASharedLibraryIsALibraryError() throws Exception {
    Path text = Files.writeString(folder.getRoot().toPath().resolve("libregulars.so.0"), "not a library\n");
    RegularsLibraryException e = assertThrows(RegularsLibraryException.class,
        () -> RegularsClient.libraryVersion(text));
    assertThat(e.getMessage(), containsString("cannot load libregulars from " + text));
    assertThat(e.getMessage(), containsString("file too short"));
  }

  @Test
  public void anotherSharedLibraryIsNotTakenForLibregulars() {
    Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
    assumeTrue(Files.exists(libm));
    RegularsLibraryException e = assertThrows(RegularsLibraryException.class,
        () -> RegularsClient.libraryVersion(libm));
    assertThat(e.getMessage(), containsString("does not export regulars_version"));
  }

  @Test
  public void withoutAnArgumentTheEnvironmentNamesTheLibrary() throws Exception {
    RegularsLibrary library = RegularsLibrary.load(null);
    assertEquals(LibraryLocation.ENVIRONMENT_VARIABLE, library.location.source);
    assertEquals(Daemon.plugin().toString(), library.location.name);
  }

  @Test
  public void theArgumentWinsOverTheEnvironmentAndTheSystemNameComesLast() {
    Path given = Path.of("/opt/pos/libregulars.so.0");
    Map<String, String> environment = Map.of("REGULARS_PLUGIN", "/usr/local/lib/libregulars.so.0");

    LibraryLocation explicit = LibraryLocation.resolve(given, environment, "Linux");
    assertEquals(given.toString(), explicit.name);
    assertEquals("the argument", explicit.source);

    assertEquals("/usr/local/lib/libregulars.so.0", LibraryLocation.resolve(null, environment, "Linux").name);

    LibraryLocation linux = LibraryLocation.resolve(null, Map.of("REGULARS_PLUGIN", ""), "Linux");
    assertEquals("libregulars.so.0", linux.name);
    assertEquals("the system loader", linux.source);
    assertEquals("regulars.dll", LibraryLocation.resolve(null, Map.of(), "Windows 11").name);
  }
}
