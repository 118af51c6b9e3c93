// Every P/Invoke declaration of regulars.h, and the SafeHandle of a client.
//
// Strings cross as UTF-8 byte arrays, never as `string` with the runtime's marshalling: .NET on
// Windows marshals `string` as the ANSI code page, which would mangle Persian and Arabic text.
// Returned `const char*` are IntPtr, decoded by Utf8.FromNative.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Regulars
{
    internal static class NativeMethods
    {
        // Mapped to libregulars.so.0 on Linux (Regulars.dll.config on Mono, the resolver in
        // LibraryLoader on .NET) and found as regulars.dll on Windows.
        internal const string Library = "regulars";

        // Mono binds a P/Invoke when it compiles the method that calls it, not when the call runs.
        // Each extern is therefore called only from its own small wrapper below, kept out of its
        // callers (NoInlining), so nothing binds before LibraryLoader.EnsureLoaded has loaded the file.
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static string Version()
        {
            return Utf8.FromNative(regulars_version());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static string StatusText(int status)
        {
            return Utf8.FromNative(regulars_strerror(status));
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static string LastError()
        {
            return Utf8.FromNative(regulars_last_error());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static int Open(string optionsJson, out ClientHandle client)
        {
            return regulars_open(Utf8.ToNative(optionsJson), out client);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static void Close(IntPtr client)
        {
            regulars_close(client);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static int Hints(ClientHandle client, string requestJson, out IntPtr responseJson)
        {
            return regulars_hints(client, Utf8.ToNative(requestJson), out responseJson);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static int Record(ClientHandle client, string eventJson)
        {
            return regulars_record(client, Utf8.ToNative(eventJson));
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static void Free(IntPtr p)
        {
            regulars_free(p);
        }

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern IntPtr regulars_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern IntPtr regulars_strerror(int status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern IntPtr regulars_last_error();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int regulars_open(byte[] optionsJson, out ClientHandle client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern void regulars_close(IntPtr client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int regulars_hints(ClientHandle client, byte[] requestJson, out IntPtr responseJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern int regulars_record(ClientHandle client, byte[] eventJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        private static extern void regulars_free(IntPtr p);
    }

    // The native client, closed exactly once: by Dispose, or by the finaliser if the owner forgot.
    internal sealed class ClientHandle : SafeHandle
    {
        private ClientHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.Close(handle);
            return true;
        }
    }
}
