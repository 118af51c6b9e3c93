// Finding libregulars: an explicit path, then REGULARS_PLUGIN, then the system's name; clear errors.
using System;
using System.IO;
using NUnit.Framework;

namespace Regulars.Tests
{
    [TestFixture]
    public class LibraryTests
    {
        private static string Plugin
        {
            get { return Environment.GetEnvironmentVariable("REGULARS_PLUGIN"); }
        }

        [Test]
        public void AnExplicitPathWinsOverTheEnvironmentWhichWinsOverTheSystemName()
        {
            string plugin = Plugin;
            Assert.IsNotNullOrEmpty(plugin, "ctest sets REGULARS_PLUGIN");
            Assert.AreEqual("/opt/x/libregulars.so.0", LibraryLoader.Choose("/opt/x/libregulars.so.0"));
            Assert.AreEqual(plugin, LibraryLoader.Choose(null));
            Environment.SetEnvironmentVariable("REGULARS_PLUGIN", null);
            try
            {
                Assert.AreEqual("libregulars.so.0", LibraryLoader.Choose(""));
            }
            finally
            {
                Environment.SetEnvironmentVariable("REGULARS_PLUGIN", plugin);
            }
        }

        [Test]
        public void TheLibraryFromRegularsPluginIsTheOneLoaded()
        {
            Assert.IsNotEmpty(RegularsClient.LibraryVersion(Plugin));
            Assert.IsNotEmpty(RegularsClient.LibraryVersion());  // the same file, chosen through the environment
        }

        [Test]
        public void AMissingFileIsAClearError()
        {
            string missing = "/nonexistent/regulars/libregulars.so.0";
            var error = Assert.Throws<RegularsLibraryException>(() => new RegularsClient(new RegularsOptions(), missing));
            Assert.AreEqual(missing, error.LibraryPath);
            StringAssert.Contains("cannot load libregulars from " + missing, error.Message);
            StringAssert.Contains("No such file", error.Message);
        }

        [Test]
        public void AFileThatIsNotALibraryIsAClearError()
        {
            using (var temp = new TempDir())
            {
                string notElf = temp.Sub("libregulars.so.0");
                File.WriteAllText(notElf, "not a shared object");
                var error = Assert.Throws<RegularsLibraryException>(() => RegularsClient.LibraryVersion(notElf));
                StringAssert.Contains(notElf, error.Message);
            }
            var other = Assert.Throws<RegularsLibraryException>(() => RegularsClient.LibraryVersion("libc.so.6"));
            StringAssert.Contains("not a libregulars", other.Message);
        }

        [Test]
        public void ASecondCopyOfTheLibraryIsRefused()
        {
            RegularsClient.LibraryVersion();
            using (var temp = new TempDir())
            {
                string copy = temp.Sub("libregulars.so.0");
                File.Copy(Plugin, copy);
                var error = Assert.Throws<RegularsLibraryException>(() => RegularsClient.LibraryVersion(copy));
                StringAssert.Contains("already uses libregulars from", error.Message);
            }
        }
    }
}
