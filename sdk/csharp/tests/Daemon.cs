// A real regularsd on a temporary data directory, for the tests: started, stopped (SIGTERM) and
// restarted on the same store. Paths come from the environment ctest sets (REGULARS_REGULARSD).
using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

namespace Regulars.Tests
{
    internal sealed class Daemon : IDisposable
    {
        private const string StartedLine = "regularsd started";
        private readonly string program;
        private readonly StringBuilder log = new StringBuilder();
        private Process process;

        internal Daemon(string dataDir)
        {
            program = Environment.GetEnvironmentVariable("REGULARS_REGULARSD");
            if (string.IsNullOrEmpty(program) || !File.Exists(program))
            {
                throw new InvalidOperationException("set REGULARS_REGULARSD to the regularsd program (ctest does)");
            }
            DataDir = dataDir;
        }

        internal string DataDir { get; private set; }

        internal string SocketPath
        {
            get { return Path.Combine(DataDir, "regularsd.sock"); }
        }

        internal string Endpoint
        {
            get { return "unix:" + SocketPath; }
        }

        internal bool Running
        {
            get { return process != null && !process.HasExited; }
        }

        // Starts regularsd and waits until it logs that it serves its socket.
        internal void Start()
        {
            if (Running) throw new InvalidOperationException("regularsd is already running");
            lock (log) log.Clear();
            var start = new ProcessStartInfo(program, "--data-dir " + DataDir + " --log-format text")
            {
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            process = Process.Start(start);
            process.ErrorDataReceived += (sender, line) => Append(line.Data);
            process.OutputDataReceived += (sender, line) => Append(line.Data);
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                if (process.HasExited) throw new InvalidOperationException("regularsd exited at start:\n" + Log);
                if (File.Exists(SocketPath) && Log.Contains(StartedLine)) return;
                Thread.Sleep(20);
            }
            throw new InvalidOperationException("regularsd did not start within 20 s:\n" + Log);
        }

        // SIGTERM, as systemd stops it, and waits for a clean exit.
        internal void Stop()
        {
            if (!Running) return;
            Posix.kill(process.Id, Posix.SIGTERM);
            if (!process.WaitForExit(10000))
            {
                process.Kill();
                process.WaitForExit();
                throw new InvalidOperationException("regularsd did not stop within 10 s of SIGTERM:\n" + Log);
            }
            process.WaitForExit();  // lets the asynchronous log readers finish
            int code = process.ExitCode;
            process.Dispose();
            process = null;
            if (code != 0) throw new InvalidOperationException("regularsd exited with status " + code + ":\n" + Log);
        }

        // Runs regularsctl on this daemon's data dir (the owner's view) and returns what it printed.
        internal string Ctl(string arguments)
        {
            string ctl = Environment.GetEnvironmentVariable("REGULARS_REGULARSCTL");
            if (string.IsNullOrEmpty(ctl) || !File.Exists(ctl))
            {
                throw new InvalidOperationException("set REGULARS_REGULARSCTL to the regularsctl program (ctest does)");
            }
            var start = new ProcessStartInfo(ctl, "--data-dir " + DataDir + " " + arguments)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using (Process run = Process.Start(start))
            {
                var errors = run.StandardError.ReadToEndAsync();
                string output = run.StandardOutput.ReadToEnd();
                run.WaitForExit();
                if (run.ExitCode != 0)
                {
                    throw new InvalidOperationException("regularsctl " + arguments + " failed: " + errors.Result);
                }
                return output;
            }
        }

        internal string Log
        {
            get { lock (log) return log.ToString(); }
        }

        public void Dispose()
        {
            if (!Running) return;
            try
            {
                Stop();
            }
            catch (InvalidOperationException)
            {
                // The test that owns it has already failed or passed; a dirty stop adds nothing.
            }
        }

        private void Append(string line)
        {
            if (line == null) return;
            lock (log) log.Append(line).Append('\n');
        }

        private static class Posix
        {
            internal const int SIGTERM = 15;

            [DllImport("libc.so.6", SetLastError = true)]
            internal static extern int kill(int pid, int signal);
        }
    }

    // A directory under the system's temporary folder, removed with everything in it on Dispose.
    internal sealed class TempDir : IDisposable
    {
        internal TempDir()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "regulars-cs-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            Directory.CreateDirectory(Path);
        }

        internal string Path { get; private set; }

        internal string Sub(string name)
        {
            return System.IO.Path.Combine(Path, name);
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, true);
            }
            catch (IOException)
            {
                // A socket or spool file still in use; the system's tmp cleaner gets it later.
            }
        }
    }
}
