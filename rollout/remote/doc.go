// Package remote is the remote rollout fleet: a learner process serves a
// gRPC service that worker processes (other processes, other hosts,
// Kubernetes pods) join; the learner hands out fragments to sample with a
// given weights version and collects the SampleBatches they upload.
//
// The service is hand-written (a grpc.ServiceDesc, no protoc) and carries
// msgpack payloads through a registered encoding.Codec named "msgpack"
// whose Unmarshal walks the msgpack headers (internal/wire) before
// decoding anything, so hostile bytes cannot make the decoder allocate
// more than the message's size (facts.md: msgpack v5.4.1 dies on 5 bytes).
//
// The protocol, from a worker's side:
//
//	Register(hostname, pid, previous id)  → worker id, index, run config, policy spec, weights
//	loop:
//	    WaitWork(id, have version)        → long poll: newer weights and/or a task (version to act with)
//	    sample one fragment with exactly the task's version
//	    UploadBatch(id, task id, batch)   → accepted | stale | duplicate  (retried with the same task id)
//	Heartbeat(id) every second            → keeps the worker (and its task) alive while it samples
//
// Fleet implements rollout.Fleet on the learner: SetWeights opens a round
// for the new version that needs rollout.workers fragments; Sample waits
// until the round is complete. A task whose worker stops heartbeating is
// given to another worker, and its late batch is discarded.
package remote
