// A small JSON reader and writer for the options, requests, events and answers that cross the C ABI.
//
// Why not System.Text.Json: Mono's class library does not have it (it is a NuGet package there),
// and DataContractJsonSerializer would need a class for every shape of event. This file reads
// JSON into plain values (Dictionary<string, object>, List<object>, string, double, bool, null)
// and writes such values back, the same on Mono and .NET.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Regulars
{
    // A value that knows its own JSON form (CustomerId, RegularsOptions).
    public interface IJsonValue
    {
        // A plain value the writer understands: a dictionary, a list, a string, a number, a bool or null.
        object ToJsonValue();
    }

    public static class Json
    {
        // Deeper than any answer of the daemon; the bound keeps a corrupt text from exhausting the stack.
        private const int MaxDepth = 64;

        // Parses JSON text into plain values; throws FormatException naming the offset on bad text.
        public static object Parse(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            var reader = new Reader(text);
            object value = reader.ReadValue(0);
            reader.SkipSpace();
            if (!reader.AtEnd) throw reader.Error("text after the JSON value");
            return value;
        }

        // Writes plain values (and IJsonValue) as compact JSON text.
        public static string Write(object value)
        {
            var text = new StringBuilder();
            WriteValue(text, value, 0);
            return text.ToString();
        }

        private static void WriteValue(StringBuilder text, object value, int depth)
        {
            if (depth > MaxDepth) throw new ArgumentException("value nested deeper than " + MaxDepth);
            var custom = value as IJsonValue;
            if (custom != null) value = custom.ToJsonValue();
            if (value == null) text.Append("null");
            else if (value is string) WriteString(text, (string)value);
            else if (value is bool) text.Append((bool)value ? "true" : "false");
            else if (value is double || value is float) WriteFloat(text, Convert.ToDouble(value, CultureInfo.InvariantCulture));
            else if (value is decimal) text.Append(((decimal)value).ToString(CultureInfo.InvariantCulture));
            else if (IsInteger(value)) text.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
            else if (value is IDictionary<string, object>) WriteObject(text, (IDictionary<string, object>)value, depth);
            else if (value is IDictionary) WriteObject(text, (IDictionary)value, depth);
            else if (value is IEnumerable) WriteArray(text, (IEnumerable)value, depth);
            else throw new ArgumentException("cannot write a " + value.GetType().Name + " as JSON");
        }

        private static bool IsInteger(object value)
        {
            return value is int || value is long || value is short || value is byte || value is sbyte
                || value is uint || value is ulong || value is ushort;
        }

        private static void WriteFloat(StringBuilder text, double number)
        {
            if (double.IsNaN(number) || double.IsInfinity(number))
                throw new ArgumentException("JSON has no NaN or infinity");
            text.Append(number.ToString("R", CultureInfo.InvariantCulture));
        }

        private static void WriteObject(StringBuilder text, IDictionary members, int depth)
        {
            text.Append('{');
            bool first = true;
            foreach (DictionaryEntry member in members)
            {
                var name = member.Key as string;
                if (name == null) throw new ArgumentException("JSON object keys must be strings");
                if (!first) text.Append(',');
                first = false;
                WriteString(text, name);
                text.Append(':');
                WriteValue(text, member.Value, depth + 1);
            }
            text.Append('}');
        }

        // Generic dictionaries need not implement the non-generic IDictionary (ExpandoObject does not).
        private static void WriteObject(StringBuilder text, IDictionary<string, object> members, int depth)
        {
            var plain = new Dictionary<string, object>(members.Count, StringComparer.Ordinal);
            foreach (var member in members) plain[member.Key] = member.Value;
            WriteObject(text, (IDictionary)plain, depth);
        }

        private static void WriteArray(StringBuilder text, IEnumerable items, int depth)
        {
            text.Append('[');
            bool first = true;
            foreach (object item in items)
            {
                if (!first) text.Append(',');
                first = false;
                WriteValue(text, item, depth + 1);
            }
            text.Append(']');
        }

        private static void WriteString(StringBuilder text, string value)
        {
            text.Append('"');
            foreach (char c in value)
            {
                switch (c)
                {
                    case '"': text.Append("\\\""); break;
                    case '\\': text.Append("\\\\"); break;
                    case '\n': text.Append("\\n"); break;
                    case '\r': text.Append("\\r"); break;
                    case '\t': text.Append("\\t"); break;
                    default:
                        if (c < 0x20) text.Append("\\u").Append(((int)c).ToString("x4"));
                        else text.Append(c);
                        break;
                }
            }
            text.Append('"');
        }

        private sealed class Reader
        {
            private readonly string text;
            private int at;

            internal Reader(string text)
            {
                this.text = text;
            }

            internal bool AtEnd
            {
                get { return at >= text.Length; }
            }

            internal FormatException Error(string what)
            {
                return new FormatException("JSON at offset " + at + ": " + what);
            }

            internal void SkipSpace()
            {
                while (!AtEnd && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) at++;
            }

            internal object ReadValue(int depth)
            {
                if (depth > MaxDepth) throw Error("nested deeper than " + MaxDepth);
                SkipSpace();
                if (AtEnd) throw Error("a value is missing");
                char c = text[at];
                if (c == '{') return ReadObject(depth);
                if (c == '[') return ReadArray(depth);
                if (c == '"') return ReadString();
                if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber();
                if (Accept("true")) return true;
                if (Accept("false")) return false;
                if (Accept("null")) return null;
                throw Error("unexpected character '" + c + "'");
            }

            private bool Accept(string word)
            {
                if (string.CompareOrdinal(text, at, word, 0, word.Length) != 0) return false;
                at += word.Length;
                return true;
            }

            private void Expect(char c)
            {
                SkipSpace();
                if (AtEnd || text[at] != c) throw Error("expected '" + c + "'");
                at++;
            }

            // Returns true (and consumes it) when the next character is c.
            private bool Next(char c)
            {
                SkipSpace();
                if (AtEnd || text[at] != c) return false;
                at++;
                return true;
            }

            private Dictionary<string, object> ReadObject(int depth)
            {
                var members = new Dictionary<string, object>(StringComparer.Ordinal);
                Expect('{');
                if (Next('}')) return members;
                do
                {
                    SkipSpace();
                    if (AtEnd || text[at] != '"') throw Error("expected a member name");
                    string name = ReadString();
                    Expect(':');
                    members[name] = ReadValue(depth + 1);
                } while (Next(','));
                Expect('}');
                return members;
            }

            private List<object> ReadArray(int depth)
            {
                var items = new List<object>();
                Expect('[');
                if (Next(']')) return items;
                do
                {
                    items.Add(ReadValue(depth + 1));
                } while (Next(','));
                Expect(']');
                return items;
            }

            private string ReadString()
            {
                at++;  // the opening quote
                var value = new StringBuilder();
                while (true)
                {
                    if (AtEnd) throw Error("unterminated string");
                    char c = text[at++];
                    if (c == '"') return value.ToString();
                    if (c < 0x20) throw Error("control character in a string");
                    if (c != '\\') { value.Append(c); continue; }
                    if (AtEnd) throw Error("unterminated escape");
                    char e = text[at++];
                    switch (e)
                    {
                        case '"': value.Append('"'); break;
                        case '\\': value.Append('\\'); break;
                        case '/': value.Append('/'); break;
                        case 'b': value.Append('\b'); break;
                        case 'f': value.Append('\f'); break;
                        case 'n': value.Append('\n'); break;
                        case 'r': value.Append('\r'); break;
                        case 't': value.Append('\t'); break;
                        case 'u': value.Append(ReadHex4()); break;  // a surrogate pair is two of these
                        default: throw Error("unknown escape '\\" + e + "'");
                    }
                }
            }

            private char ReadHex4()
            {
                int code;
                if (at + 4 > text.Length || !int.TryParse(text.Substring(at, 4), NumberStyles.AllowHexSpecifier,
                        CultureInfo.InvariantCulture, out code))
                    throw Error("bad \\u escape");
                at += 4;
                return (char)code;
            }

            private double ReadNumber()
            {
                int start = at;
                if (text[at] == '-') at++;
                while (!AtEnd && "0123456789+-.eE".IndexOf(text[at]) >= 0) at++;
                double number;
                if (!double.TryParse(text.Substring(start, at - start), NumberStyles.Float, CultureInfo.InvariantCulture,
                        out number))
                {
                    at = start;
                    throw Error("bad number");
                }
                return number;
            }
        }
    }
}
