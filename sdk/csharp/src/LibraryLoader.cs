// Finds libregulars and makes the [DllImport("regulars")] declarations bind to it.
//
// Which file: an explicit path (RegularsClient's libraryPath) wins, then the REGULARS_PLUGIN
// environment variable, then the system loader's name: libregulars.so.0 on Linux, regulars.dll on
// Windows.
//
// How, on both runtimes, from one compiled Regulars.dll:
//  - The chosen file is loaded here first (dlopen / LoadLibraryW), so a missing or wrong file is a
//    RegularsLibraryException naming the file and the loader's reason, not a DllNotFoundException
//    at the first call.
//  - Mono: Regulars.dll.config maps "regulars" to libregulars.so.0. glibc's dlopen matches a bare
//    name against the SONAME of libraries already loaded, so Mono's dlopen("libregulars.so.0")
//    returns the file loaded here, whatever its path. The SONAME is checked right after loading.
//  - .NET (Core, 5+): NativeLibrary.SetDllImportResolver hands the same handle back for
//    "regulars". NativeLibrary is missing from Mono's class library, so it is reached through
//    reflection: the same Regulars.dll then compiles with mcs and runs on .NET 8 unchanged.
// One process binds one libregulars: a later client naming a different file is refused.
using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Regulars
{
    internal static class LibraryLoader
    {
        internal const string EnvironmentVariable = "REGULARS_PLUGIN";
        internal const string LinuxSoname = "libregulars.so.0";
        internal const string WindowsName = "regulars.dll";

        private static readonly object Lock = new object();
        private static IntPtr loadedHandle = IntPtr.Zero;
        private static string loadedFrom;

        // Loads the library once per process; later calls check that they ask for the same file.
        internal static void EnsureLoaded(string explicitPath)
        {
            string wanted = Choose(explicitPath);
            lock (Lock)
            {
                IntPtr handle = Open(wanted);
                if (loadedHandle == IntPtr.Zero)
                {
                    loadedHandle = handle;
                    loadedFrom = wanted;
                    CheckSoname(wanted);
                    InstallDotNetResolver();
                    return;
                }
                // dlopen and LoadLibrary count references: drop the one just taken.
                Close(handle);
                if (handle != loadedHandle)
                {
                    throw new RegularsLibraryException(wanted,
                        "this process already uses libregulars from " + loadedFrom + "; one process loads only one");
                }
            }
        }

        internal static string Choose(string explicitPath)
        {
            if (!string.IsNullOrEmpty(explicitPath)) return explicitPath;
            string fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
            return IsWindows ? WindowsName : LinuxSoname;
        }

        private static bool IsWindows
        {
            get { return Path.DirectorySeparatorChar == '\\'; }
        }

        private static IntPtr Open(string file)
        {
            return IsWindows ? OpenWindows(file) : OpenPosix(file);
        }

        // Apart from OpenPosix so that Mono on Linux never binds kernel32 (it binds when compiling).
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static IntPtr OpenWindows(string file)
        {
            IntPtr module = Kernel32.LoadLibraryW(file);
            if (module == IntPtr.Zero)
            {
                throw new RegularsLibraryException(file, "LoadLibrary failed with error " + Marshal.GetLastWin32Error());
            }
            return module;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static IntPtr OpenPosix(string file)
        {
            Dl.LastError();  // binds dlerror now: binding it after a failure could clear the reason
            IntPtr handle = Dl.dlopen(file, Dl.RTLD_NOW | Dl.RTLD_GLOBAL);
            if (handle == IntPtr.Zero) throw new RegularsLibraryException(file, Dl.LastError());
            if (Dl.dlsym(handle, "regulars_version") == IntPtr.Zero)
            {
                Dl.dlclose(handle);
                throw new RegularsLibraryException(file, "it does not export regulars_version; not a libregulars");
            }
            return handle;
        }

        private static void Close(IntPtr handle)
        {
            if (IsWindows) CloseWindows(handle);
            else Dl.dlclose(handle);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void CloseWindows(IntPtr module)
        {
            Kernel32.FreeLibrary(module);
        }

        // Mono binds "regulars" by the name libregulars.so.0; a file with another SONAME would
        // leave that name unresolved (or resolved to a different copy on the system path).
        private static void CheckSoname(string file)
        {
            if (IsWindows || RuntimeHasNativeLibrary) return;
            IntPtr bySoname = Dl.dlopen(LinuxSoname, Dl.RTLD_NOW | Dl.RTLD_NOLOAD);
            if (bySoname != IntPtr.Zero) Dl.dlclose(bySoname);
            if (bySoname != loadedHandle)
            {
                Dl.dlclose(loadedHandle);
                loadedHandle = IntPtr.Zero;
                throw new RegularsLibraryException(file, "its SONAME is not " + LinuxSoname);
            }
        }

        // .NET Core 3+ has it (and binds through the resolver); Mono does not (and binds by SONAME).
        private static bool RuntimeHasNativeLibrary
        {
            get { return Type.GetType("System.Runtime.InteropServices.NativeLibrary") != null; }
        }

        private static void InstallDotNetResolver()
        {
            Type nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
            Type resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
            if (nativeLibrary == null || resolverType == null) return;  // Mono: the dllmap does it
            MethodInfo setResolver = nativeLibrary.GetMethod("SetDllImportResolver",
                new[] { typeof(Assembly), resolverType });
            MethodInfo resolve = typeof(LibraryLoader).GetMethod("Resolve", BindingFlags.NonPublic | BindingFlags.Static);
            Delegate resolver = Delegate.CreateDelegate(resolverType, resolve);
            setResolver.Invoke(null, new object[] { typeof(LibraryLoader).Assembly, resolver });
        }

        // The DllImportResolver: "regulars" is the handle loaded above; anything else, the default.
        private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        {
            return libraryName == NativeMethods.Library ? loadedHandle : IntPtr.Zero;
        }

        private static class Dl
        {
            internal const int RTLD_NOW = 0x2;
            internal const int RTLD_NOLOAD = 0x4;
            internal const int RTLD_GLOBAL = 0x100;

            // libdl.so.2 exists on every glibc, also since 2.34 merged it into libc.so.6.
            [DllImport("libdl.so.2", CharSet = CharSet.Ansi, BestFitMapping = false)]
            internal static extern IntPtr dlopen(string file, int mode);

            [DllImport("libdl.so.2", CharSet = CharSet.Ansi, BestFitMapping = false)]
            internal static extern IntPtr dlsym(IntPtr handle, string symbol);

            [DllImport("libdl.so.2")]
            internal static extern int dlclose(IntPtr handle);

            [DllImport("libdl.so.2")]
            private static extern IntPtr dlerror();

            internal static string LastError()
            {
                string reason = Utf8.FromNative(dlerror());
                return string.IsNullOrEmpty(reason) ? "dlopen failed" : reason;
            }
        }

        private static class Kernel32
        {
            [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
            internal static extern IntPtr LoadLibraryW(string file);

            [DllImport("kernel32.dll")]
            internal static extern bool FreeLibrary(IntPtr module);
        }
    }
}
