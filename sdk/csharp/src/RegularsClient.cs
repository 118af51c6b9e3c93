// A connection of this till to regularsd through libregulars: open, hints, record, close.
// Thread-safe as the native client is; Dispose closes it (a finaliser does, if Dispose is forgotten).
using System;
using System.Collections.Generic;

namespace Regulars
{
    public sealed class RegularsClient : IDisposable
    {
        private readonly ClientHandle handle;

        // A client with the library's defaults (the local daemon of /var/lib/regulars).
        public RegularsClient() : this((string)null, null) { }

        // libraryPath: the libregulars file to load; null means REGULARS_PLUGIN, then the system's.
        public RegularsClient(RegularsOptions options, string libraryPath = null)
            : this(options == null ? null : options.ToJson(), libraryPath) { }

        // Options by their JSON names ("endpoint", "spool_dir", "budget_ms", ...).
        public RegularsClient(IDictionary<string, object> options, string libraryPath = null)
            : this(options == null ? null : Json.Write(options), libraryPath) { }

        private RegularsClient(string optionsJson, string libraryPath)
        {
            LibraryLoader.EnsureLoaded(libraryPath);
            ClientHandle opened;
            int status = NativeMethods.Open(optionsJson, out opened);
            if (status != 0)
            {
                RegularsException failure = Failure(status);
                if (opened != null) opened.Dispose();
                throw failure;
            }
            handle = opened;
        }

        // Opens a client from the options' JSON text as regulars_open takes it.
        public static RegularsClient OpenJson(string optionsJson, string libraryPath = null)
        {
            return new RegularsClient(optionsJson, libraryPath);
        }

        // The library's version, "MAJOR.MINOR.PATCH".
        public static string LibraryVersion(string libraryPath = null)
        {
            LibraryLoader.EnsureLoaded(libraryPath);
            return NativeMethods.Version();
        }

        // regulars_strerror: the library's one-line description of a status.
        public static string Describe(int status, string libraryPath = null)
        {
            LibraryLoader.EnsureLoaded(libraryPath);
            return NativeMethods.StatusText(status);
        }

        // Hints for the customer at the till: the parsed answer, with the raw JSON in HintsAnswer.RawJson.
        // UnavailableException and RegularsTimeoutException mean "show no hints now".
        public HintsAnswer Hints(string requestJson)
        {
            return HintsAnswer.Parse(HintsJson(requestJson));
        }

        // Hints, the request given by its JSON names ("customer", "basket", "locale", ...).
        public HintsAnswer Hints(IDictionary<string, object> request)
        {
            if (request == null) throw new ArgumentNullException("request");
            return Hints(Json.Write(request));
        }

        // Hints for a customer, in a locale (null: the customer's or the store's language).
        public HintsAnswer Hints(CustomerId customer, string locale = null)
        {
            if (customer == null) throw new ArgumentNullException("customer");
            var request = new Dictionary<string, object> { { "customer", customer } };
            if (locale != null) request["locale"] = locale;
            return Hints(Json.Write(request));
        }

        // Hints as the library's JSON text, unparsed.
        public string HintsJson(string requestJson)
        {
            if (requestJson == null) throw new ArgumentNullException("requestJson");
            ThrowIfDisposed();
            IntPtr response;
            int status = NativeMethods.Hints(handle, requestJson, out response);
            if (status != 0)
            {
                RegularsException failure = Failure(status);
                if (response != IntPtr.Zero) NativeMethods.Free(response);
                throw failure;
            }
            try
            {
                return Utf8.FromNative(response);
            }
            finally
            {
                NativeMethods.Free(response);
            }
        }

        // Records one event; returns only once it is durable (committed by the daemon or fsynced to
        // the spool). After RegularsTimeoutException, recording the same event_id again is safe.
        public void Record(string eventJson)
        {
            if (eventJson == null) throw new ArgumentNullException("eventJson");
            ThrowIfDisposed();
            int status = NativeMethods.Record(handle, eventJson);
            if (status != 0) throw Failure(status);
        }

        // Records one event given by its JSON names ("type", "customer", "lines", ...).
        public void Record(IDictionary<string, object> evt)
        {
            if (evt == null) throw new ArgumentNullException("evt");
            Record(Json.Write(evt));
        }

        public void Dispose()
        {
            if (handle != null) handle.Dispose();
        }

        private void ThrowIfDisposed()
        {
            if (handle.IsClosed) throw new ObjectDisposedException("RegularsClient");
        }

        // Reads regulars_last_error first: the next regulars_* call on this thread replaces it.
        private static RegularsException Failure(int status)
        {
            string detail = NativeMethods.LastError();
            string description = NativeMethods.StatusText(status);
            return RegularsException.ForStatus(status, description, detail);
        }
    }
}
