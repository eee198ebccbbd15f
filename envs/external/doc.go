// Package external steps environments that live in another process, in
// any language, through rlgo's env protocol: gRPC with msgpack messages
// (no .proto), one call stepping a whole vector of envs.
//
// Three pieces:
//
//   - VectorEnv, the client, has the methods of *envs.VectorEnv (Reset,
//     Step, Obs, Len, ObsDim, Close, and the spaces) with the same
//     same-step auto-reset, so a rollout worker cannot tell a bridged env
//     from a native one. Open makes one, either by starting and
//     supervising a server process (Config.Command) or by connecting to a
//     server someone else runs (Config.Address).
//   - The supervisor restarts a server process that crashes or misses a
//     call's deadline. The episodes it cut end truncated, with their last
//     observation as final observation, and VectorEnv.Restarts counts the
//     restarts; no transition crosses a restart.
//   - Serve serves any Go envs.Env over the same protocol, so Go envs can
//     run on other hosts and the protocol has two implementations that
//     test each other. The Python implementation is python/rlgo_env.
//
// # Protocol
//
// Service rlgo.env.v1.Env, content-subtype msgpack
// (application/grpc+msgpack). Every message is a msgpack map with string
// keys; receivers ignore keys they do not know. Arrays of numbers travel
// as msgpack bin payloads of little-endian values ("f32" is IEEE float32,
// "f64" float64, "i32" int32, "u8" one byte 0 or 1), row-major, env by
// env: the observations of N envs of D values each are one bin of N×D×4
// bytes. docs/external-envs.md lists every message and field.
//
//	Spec  {protocol}                       → {protocol, id, num_envs, observation_space, action_space, max_episode_steps, reward_threshold}
//	Reset {seeds: [N × uint|nil]}          → {obs: f32[N×D]}
//	Step  {actions: i32[N] | f32[N×A]}     → {obs, rewards: f64[N], terminated: u8[N], truncated: u8[N], final_obs: f32[K×D], infos: {name: [N × float|nil]}}
//	Close {}                               → {}
//
// A space is {kind: "box", shape: [...], low: f32[D], high: f32[D]} or
// {kind: "discrete", n: N}. Step auto-resets every env whose episode ended
// (terminated or truncated) with reset(seed=None) right away: obs holds
// the next episode's first observation for those envs and final_obs holds
// the K ended episodes' last observations, in env order.
//
// Two faster ways to send Step calls are optional, announced in the Spec
// reply's capabilities (a client uses only what the server lists):
// StepStream (CapStepStream), Step as one bidirectional gRPC stream kept
// open, one reply per request in order; and the step socket
// (CapStepSocket), a plain Unix socket at the Spec reply's step_socket
// path answering Step frames (a 4-byte little-endian length and the same
// msgpack maps; a failed step is {code, message}), used only by clients
// that reach the server over a Unix socket without a token.
// Options.Transport picks one; by default the fastest the server offers.
//
// # Supervised processes
//
// A server started from Config.Command learns where to listen and how many
// envs to serve from its environment: RLGO_ENV_SOCKET (a Unix socket path)
// and RLGO_ENV_NUM_ENVS. RLGO_ENV_PARENT_PID names the supervising process,
// so a server can exit when its parent is gone. Its stdout and stderr go to
// Config.Log, each line prefixed.
package external
