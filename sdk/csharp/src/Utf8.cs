// Text to and from the C ABI, always UTF-8 (regulars.h, convention 3).
using System;
using System.Runtime.InteropServices;

namespace Regulars
{
    internal static class Utf8
    {
        // A NUL-terminated UTF-8 copy of text, or null for null (the C side reads NULL as "none").
        internal static byte[] ToNative(string text)
        {
            if (text == null) return null;
            int length = System.Text.Encoding.UTF8.GetByteCount(text);
            var bytes = new byte[length + 1];
            System.Text.Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        // Marshal.PtrToStringUTF8 is missing from Mono's profile, so the bytes are counted here.
        internal static string FromNative(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int length = 0;
            while (Marshal.ReadByte(p, length) != 0) length++;
            var bytes = new byte[length];
            Marshal.Copy(p, bytes, 0, length);
            return System.Text.Encoding.UTF8.GetString(bytes);
        }
    }
}
