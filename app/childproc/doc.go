// Package childproc starts the processes of local MCP servers so that they end with the app.
//
// [Command] returns an unstarted *exec.Cmd for a [Spec]. The caller (the go-sdk's
// mcp.CommandTransport) starts it, owns its stdin and stdout, and closes it; [KillTree] ends
// whatever is left of the process tree afterwards. The tree ends when the app ends, however it
// ends: a normal exit, a crash, or kill -9. That also holds for grandchildren (an `sh -c`
// wrapper, npx starting node) and for processes that ignore SIGTERM and stdin's end.
//
// The command does not run as a child of the app. The app re-executes itself as a small
// supervisor, recognised by an environment variable (not by argv), which [RunSupervisorIfAsked]
// turns into the supervisor before main does anything else; the supervisor then starts the
// real command with the stdio it inherited, so the bytes flow between the app and the command
// without a copy on the way. The supervisor's own environment holds only its variables; the
// command's travels inside them, so that the init functions of the packages linked into the
// app (which run before main: Fyne logs a locale error there) and the Go runtime see none of
// it.
//
// On Linux and macOS the supervisor leads a process group of its own, and the command and
// everything it starts belong to it. The supervisor watches a pipe from the app (one for the
// whole app, passed as an extra file; nobody writes to it, so its end of file means the app is
// gone) and ends the group, first with SIGTERM and after [Spec.Grace] with SIGKILL, when the app
// is gone, when it is itself told to stop (SIGTERM, SIGINT, SIGHUP), and when the command exits
// (whatever the command left behind). It exits with the command's status. KillTree kills the
// group from the app, also when the supervisor itself was killed.
//
// On Windows the same supervisor joins a Job Object that the app creates once and holds the only
// handle to (Windows kills every process of that job when the app ends), then creates and joins
// a kill-on-close job of its own: the command and its descendants are born in both, and die
// when the supervisor exits or is killed (which is what KillTree does). The app itself never
// joins a job: everything it starts, the browser it opens included, would die with it.
//
// What it does not do: a descendant that moves to a process group or session of its own
// (a daemon) escapes it on Linux and macOS, as it escapes any process-group based cleanup;
// it does not limit resources or sandbox anything; it does not build the command's environment
// (the caller passes the whole of it in [Spec.Env]); and it supports Linux, macOS and Windows
// only ([Command] returns an error matching errors.ErrUnsupported elsewhere).
package childproc
