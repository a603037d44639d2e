// Package store implements Kakehashi's ports on Redis through go-redis. Open returns a
// client for a real Redis (single node, Sentinel or Cluster) or for an embedded,
// in-process Redis-compatible server (miniredis) whose data is snapshotted to disk;
// both use the same code path. Every key is named in keys.go and carries its tenant as a
// Redis Cluster hash tag, so one tenant's multi-key scripts stay in one slot.
package store
