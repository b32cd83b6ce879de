package eventlog

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// KV is a JetStream key-value bucket for state shared by all Moat nodes
// (publisher revocations, quarantines). Keys are arbitrary strings, stored
// as EncodeKey(key). Only the latest value of a key is kept.
type KV struct {
	l      *Log
	name   string
	bucket jetstream.KeyValue
}

// KV binds the bucket named name (letters, digits, '_', '-'), creating it
// with file storage and history 1 if it does not exist.
func (l *Log) KV(ctx context.Context, name string) (*KV, error) {
	if err := l.usable("kv"); err != nil {
		return nil, err
	}
	if !validBucket(name) {
		return nil, fmt.Errorf("%w: bucket name %q", ErrInvalid, name)
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	js := l.control().js
	bucket := l.names.bucket(name)
	b, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		b, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      bucket,
			Description: "Moat " + name,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    l.cfg.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // lost a creation race
			b, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, wrap("kv "+name, err)
	}
	return &KV{l: l, name: name, bucket: b}, nil
}

// DeleteKV deletes the bucket named name and all its keys. Deleting an
// absent bucket is not an error.
func (l *Log) DeleteKV(ctx context.Context, name string) error {
	if err := l.usable("delete kv"); err != nil {
		return err
	}
	if !validBucket(name) {
		return fmt.Errorf("%w: bucket name %q", ErrInvalid, name)
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	err := l.control().js.DeleteKeyValue(ctx, l.names.bucket(name))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	return wrap("delete kv "+name, err)
}

func (kv *KV) op(ctx context.Context, what string) (context.Context, context.CancelFunc, error) {
	if err := kv.l.usable("kv " + what); err != nil {
		return nil, nil, err
	}
	ctx, cancel := kv.l.withTimeout(ctx)
	return ctx, cancel, nil
}

// Create stores value under key if key is absent, else ErrExists.
func (kv *KV) Create(ctx context.Context, key string, value []byte) error {
	ctx, cancel, err := kv.op(ctx, "create")
	if err != nil {
		return err
	}
	defer cancel()
	_, err = kv.bucket.Create(ctx, EncodeKey(key), value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("%w: %s/%q", ErrExists, kv.name, key)
	}
	return wrap("kv create", err)
}

// Put stores value under key.
func (kv *KV) Put(ctx context.Context, key string, value []byte) error {
	ctx, cancel, err := kv.op(ctx, "put")
	if err != nil {
		return err
	}
	defer cancel()
	_, err = kv.bucket.Put(ctx, EncodeKey(key), value)
	return wrap("kv put", err)
}

// Get returns the value of key, or ErrNotFoundKey.
func (kv *KV) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel, err := kv.op(ctx, "get")
	if err != nil {
		return nil, err
	}
	defer cancel()
	e, err := kv.bucket.Get(ctx, EncodeKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %s/%q", ErrNotFoundKey, kv.name, key)
	}
	if err != nil {
		return nil, wrap("kv get", err)
	}
	return e.Value(), nil
}

// Delete removes key, or returns ErrNotFoundKey if it is absent. The delete
// is conditional on the revision just read, so a concurrent writer is never
// silently overwritten by a stale check.
func (kv *KV) Delete(ctx context.Context, key string) error {
	ctx, cancel, err := kv.op(ctx, "delete")
	if err != nil {
		return err
	}
	defer cancel()
	k := EncodeKey(key)
	for {
		e, err := kv.bucket.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("%w: %s/%q", ErrNotFoundKey, kv.name, key)
		}
		if err != nil {
			return wrap("kv delete", err)
		}
		err = kv.bucket.Delete(ctx, k, jetstream.LastRevision(e.Revision()))
		if !errors.Is(err, jetstream.ErrKeyExists) { // ErrKeyExists = wrong last revision: re-read
			return wrap("kv delete", err)
		}
	}
}

// Keys returns every key in the bucket, sorted; an empty bucket gives an
// empty slice.
func (kv *KV) Keys(ctx context.Context) ([]string, error) {
	ctx, cancel, err := kv.op(ctx, "keys")
	if err != nil {
		return nil, err
	}
	defer cancel()
	raw, err := kv.bucket.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, wrap("kv keys", err)
	}
	keys := make([]string, 0, len(raw))
	for _, r := range raw {
		k, err := DecodeKey(r)
		if err != nil {
			kv.l.log.Warn("eventlog: foreign key in bucket", "bucket", kv.name, "key", r)
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// Watch calls fn for every key present when the watch starts and then for
// every later change (deleted=true, value nil, for a deletion), until ctx is
// done. fn runs on one goroutine, in revision order; it must not block for
// long. The returned channel is closed once fn has been called for every
// initial key (immediately for an empty bucket), so a caller can wait for
// its in-memory copy to be complete before serving.
func (kv *KV) Watch(ctx context.Context, fn func(key string, value []byte, deleted bool)) (<-chan struct{}, error) {
	if err := kv.l.usable("kv watch"); err != nil {
		return nil, err
	}
	w, err := kv.bucket.WatchAll(ctx)
	if err != nil {
		return nil, wrap("kv watch", err)
	}
	ready := make(chan struct{})
	go func() {
		defer func() { _ = w.Stop() }()
		loading := true
		for {
			var e jetstream.KeyValueEntry
			var ok bool
			select {
			case <-ctx.Done():
				return
			case e, ok = <-w.Updates():
			}
			switch {
			case !ok:
				return
			case e == nil: // end of the initial values
				if loading {
					loading = false
					close(ready)
				}
				continue
			}
			deleted := e.Operation() != jetstream.KeyValuePut
			if loading && deleted {
				continue // a tombstone is not a present key
			}
			key, err := DecodeKey(e.Key())
			if err != nil {
				kv.l.log.Warn("eventlog: foreign key in bucket", "bucket", kv.name, "key", e.Key())
				continue
			}
			var value []byte
			if !deleted {
				value = e.Value()
			}
			fn(key, value, deleted)
		}
	}()
	return ready, nil
}
