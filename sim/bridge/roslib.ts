/**
 * The one import of `roslib`. roslib 2.1's package-level typings (`dist/RosLib.d.ts`) re-export an extensionless path
 * that NodeNext resolution cannot follow, so the runtime module is bound to its real declarations here.
 */
import * as roslibRuntime from 'roslib';
import type * as RosLib from '../../node_modules/roslib/dist/src/RosLib.d.ts';

const R = roslibRuntime as unknown as typeof RosLib;

export const Ros = R.Ros;
export type Ros = RosLib.Ros;
export const Topic = R.Topic;
export type Topic<T = unknown> = RosLib.Topic<T>;
export const Service = R.Service;
export type Service<Q = unknown, A = unknown> = RosLib.Service<Q, A>;
export const WebSocketTransportFactory = R.WebSocketTransportFactory;
export type ITransport = RosLib.ITransport;
