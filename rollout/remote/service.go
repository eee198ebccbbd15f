package remote

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// ServiceName is the gRPC service's full name.
const ServiceName = "rlgo.rollout.v1.Rollout"

// Method names of the service.
const (
	methodRegister  = "Register"
	methodWaitWork  = "WaitWork"
	methodUpload    = "UploadBatch"
	methodHeartbeat = "Heartbeat"
	// methodDeregister is a worker leaving on a graceful shutdown; a
	// learner without it (Unimplemented) reaps the worker on its timeout.
	methodDeregister = "Deregister"
)

func fullMethod(m string) string { return "/" + ServiceName + "/" + m }

// rolloutServer is what the hand-written ServiceDesc dispatches to.
type rolloutServer interface {
	Register(context.Context, *RegisterRequest) (*RegisterReply, error)
	WaitWork(context.Context, *WaitWorkRequest) (*WaitWorkReply, error)
	UploadBatch(context.Context, *UploadRequest) (*UploadReply, error)
	Heartbeat(context.Context, *HeartbeatRequest) (*HeartbeatReply, error)
	Deregister(context.Context, *DeregisterRequest) (*DeregisterReply, error)
}

// serviceDesc is what protoc-gen-go-grpc would generate, written by hand:
// the messages are Go structs carried by the msgpack codec.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*rolloutServer)(nil),
	Methods: []grpc.MethodDesc{
		unary(methodRegister, rolloutServer.Register),
		unary(methodWaitWork, rolloutServer.WaitWork),
		uploadMethod(),
		unary(methodHeartbeat, rolloutServer.Heartbeat),
		unary(methodDeregister, rolloutServer.Deregister),
	},
	Metadata: "rollout/remote/messages.go",
}

// unary builds the MethodDesc of one unary RPC. A request the codec
// rejects (malformed msgpack, see internal/wire) never reaches the
// handler: grpc answers codes.Internal "failed to unmarshal" itself.
func unary[Req, Resp any](name string, call func(rolloutServer, context.Context, *Req) (*Resp, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(Req)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return call(srv.(rolloutServer), ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod(name)}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return call(srv.(rolloutServer), ctx, req.(*Req))
			})
		},
	}
}

// uploadMethod is UploadBatch's MethodDesc: the request is decoded under
// the run's upload budget (Fleet.uploadLimits) and while holding one of
// Config.MaxConcurrentDecodes slots, so no upload and no number of
// concurrent ones can make the learner allocate more than the run's
// shapes need. A request over the budget reaches the handler with its
// decode error: it is answered InvalidArgument and counted as rejected.
func uploadMethod() grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: methodUpload,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			h := srv.(*handlers)
			in := &UploadRequest{lim: h.s.fleet.uploadLimits()}
			select {
			case h.s.decodes <- struct{}{}:
			case <-ctx.Done():
				return nil, status.FromContextError(ctx.Err()).Err()
			}
			err := dec(in)
			<-h.s.decodes
			if err != nil {
				return nil, err
			}
			if interceptor == nil {
				return h.UploadBatch(ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod(methodUpload)}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return h.UploadBatch(ctx, req.(*UploadRequest))
			})
		},
	}
}

// invoke calls method on cc with a deadline of timeout (every RPC has one).
func invoke[Resp any](ctx context.Context, cc grpc.ClientConnInterface, method string, in any, timeout time.Duration) (*Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := new(Resp)
	if err := cc.Invoke(ctx, fullMethod(method), in, out, grpc.CallContentSubtype(CodecName)); err != nil {
		return nil, err
	}
	return out, nil
}
