package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/permlake/permlake/extract/aws"
)

// Event-driven ingest: an hourly run with aws.trail.queue set takes the log files to read from
// the notifications in the queue instead of listing the bucket (README "Event-driven ingest").
//
// Exactly once on top of SQS's at least once: the run receives what the queue holds (bounded by
// count and time), keeping the messages hidden while it works; ingests the named files of every
// account through the same commit groups and ledger as listing (so the lake is the same whichever
// way a file was found, and a file named twice, or also listed, is read once); and deletes a
// message only once every account it names has committed its files and recorded them (or their
// failure to read) in the ledger. A run killed at any step leaves its messages to reappear after
// their visibility timeout; the next run skips what the ledger holds and deletes them.

// queueBatch is what one run took from the queue.
type queueBatch struct {
	q     *aws.Queue
	log   *slog.Logger
	files map[string][]aws.LogFile // by account: the files to read, each key once

	mu      sync.Mutex
	leases  map[string]lease // by message ID: every message received, until settle
	renewal time.Duration    // how long the last round of renewals took
	pending []queuedMessage  // received, waiting for their accounts' commits
	later   []aws.Message    // naming files delivered after the run's window: handed back
	bad     []aws.Message    // malformed or naming what is not the trail's: left to the redrive policy
	ignored []aws.Message    // test events, digests, other accounts: deleted
	stop    func()           // stops keepHidden

	// Counts for the run's log. Received counts each message once; Again counts the receives
	// of a message already held (its visibility lapsed before it was renewed).
	Received, Again, Malformed, Ignored, Deleted, Deferred int
}

// lease is how a received message is held hidden.
type lease struct {
	handle string    // its latest receipt handle (a message received again has a new one)
	until  time.Time // hidden until at least then: the start of the call that hid it, plus its timeout
}

// queuedMessage is a received message and the accounts whose log files it names.
type queuedMessage struct {
	aws.Message
	accounts []string
}

// drainQueue receives messages until the queue is empty, maxMessages were received or
// maxDuration passed, and sorts them. accounts are the configured accounts: files of any other
// account are not this deployment's (listing would not read them either), so messages naming
// only those are deleted. Messages are kept hidden from the first receive until settle (call it
// even on error): a drain longer than the visibility timeout must not receive them again.
func drainQueue(ctx context.Context, q *aws.Queue, trail *aws.Trail, accounts map[string]bool, w window, qc QueueConfig, log *slog.Logger) (*queueBatch, error) {
	b := &queueBatch{q: q, log: log, files: map[string][]aws.LogFile{}, leases: map[string]lease{}}
	b.stop = b.keepHidden(ctx)
	seen := map[string]bool{}
	deadline := time.Now().Add(qc.MaxDuration)
	for b.Received < qc.MaxMessages && time.Now().Before(deadline) {
		b.mu.Lock()
		hide := b.hideFor()
		b.mu.Unlock()
		start := time.Now()
		msgs, err := q.Receive(ctx, qc.MaxMessages-b.Received, hide)
		if err != nil {
			return b, err
		}
		if len(msgs) == 0 {
			break
		}
		b.mu.Lock()
		for _, m := range msgs {
			if _, again := b.leases[m.ID]; again {
				b.Again++
			} else {
				b.Received++
				b.sort(m, trail, accounts, w, seen)
			}
			b.leases[m.ID] = lease{handle: m.Handle, until: start.Add(hide)}
		}
		b.mu.Unlock()
	}
	killpoint("queue-after-receive")
	for _, files := range b.files {
		aws.SortLogFiles(files)
	}
	return b, nil
}

// sort files one message: its log files go to their accounts; what it cannot be is named.
// Called with b.mu held.
func (b *queueBatch) sort(m aws.Message, trail *aws.Trail, accounts map[string]bool, w window, seen map[string]bool) {
	n, err := aws.ParseNotification(m.Body)
	if err == nil && n.Ignored != "" {
		b.log.Debug("queue message ignored", "message_id", m.ID, "what", n.Ignored)
		b.ignored = append(b.ignored, m)
		return
	}
	var files []aws.LogFile
	if err == nil {
		for _, key := range n.Keys {
			f, ferr := trail.NotifiedFile(n.Bucket, key)
			switch {
			case errors.Is(ferr, aws.ErrNotLogFile):
				// Digest files, CloudTrail Insights and the like share the bucket: nothing to read.
				continue
			case errors.Is(ferr, aws.ErrOutsideTrail):
				// Another trail's file in the same bucket (or a prefix or organization ID set
				// wrong: listing would not find it either).
				b.log.Warn("queue message names a log file outside the configured trail: ignored", "message_id", m.ID, "error", ferr)
				continue
			case ferr != nil: // another bucket: the queue is wired to something else
				b.log.Error("queue message not processed: left to the queue's redrive policy", "message_id", m.ID, "receives", m.Receives, "error", ferr)
				b.bad = append(b.bad, m)
				return
			case !f.DeliveredAt.Before(w.DeliveredTo):
				// Delivered for an hour after the run's: the next run's. The whole message waits.
				b.log.Debug("queue message for a later hour: handed back", "message_id", m.ID, "key", f.Key, "delivered_at", f.DeliveredAt)
				b.later = append(b.later, m)
				return
			case accounts[f.AccountID]:
				files = append(files, f)
			}
		}
	}
	if err != nil {
		b.log.Error("queue message not processed: left to the queue's redrive policy", "message_id", m.ID, "receives", m.Receives, "error", err)
		b.bad = append(b.bad, m)
		return
	}
	if len(files) == 0 {
		b.log.Debug("queue message ignored", "message_id", m.ID, "what", "no log file of a configured account")
		b.ignored = append(b.ignored, m)
		return
	}
	qm := queuedMessage{Message: m}
	for _, f := range files {
		if !slices.Contains(qm.accounts, f.AccountID) {
			qm.accounts = append(qm.accounts, f.AccountID)
		}
		if !seen[f.Key] { // named twice: read once
			seen[f.Key] = true
			b.files[f.AccountID] = append(b.files[f.AccountID], f)
		}
	}
	b.pending = append(b.pending, qm)
}

// settler returns the batch's settle for the run's results: it acts once, later calls do nothing.
func (b *queueBatch) settler(ctx context.Context) (settle func([]accountResult)) {
	var once sync.Once
	return func(results []accountResult) {
		once.Do(func() {
			b.stop()
			done := map[string]bool{}
			for _, r := range results {
				if r.trailDone {
					done[r.outcome.AccountID] = true
				}
			}
			b.settle(ctx, done)
		})
	}
}

// keepHidden renews the visibility of the messages held, until stop: a long batch must not let
// them reappear to another reader midway. Every message received is held until settle, the
// malformed ones too (they reappear once this run is done, one receive more towards the redrive
// policy, not one per visibility timeout of a long drain).
//
// Each tick (a third of the visibility timeout) renews only the messages that would reappear
// before the next round of renewals is done, those due soonest first. Renewing every message
// every tick would take more calls than a tick lasts once a batch holds tens of thousands of
// messages (ten per call), and a message renewed too late is received again: a drain that
// receives again what it holds can go on until its max_duration.
func (b *queueBatch) keepHidden(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(b.tick())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			b.mu.Lock()
			hide := b.hideFor()
			due := b.due(time.Now().Add(b.lead()))
			b.mu.Unlock()
			start := time.Now()
			err := b.q.SetVisibility(ctx, due, hide)
			b.mu.Lock()
			b.renewal = time.Since(start)
			if err == nil {
				for _, m := range due {
					if l := b.leases[m.ID]; l.handle == m.Handle { // not received again meanwhile
						b.leases[m.ID] = lease{handle: m.Handle, until: start.Add(hide)}
					}
				}
			}
			b.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				// Not recorded as renewed: they are due again at the next tick.
				b.log.Warn("queue messages' visibility not extended: another reader may receive them (the ledger reads each file once)", "error", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// tick is how often keepHidden looks for messages due.
func (b *queueBatch) tick() time.Duration { return max(b.q.Visibility/3, 100*time.Millisecond) }

// lead is how far ahead a round of renewals looks: a message it leaves must stay hidden until
// the next round has renewed it, a tick and at most two rounds as long as the last one later.
// Called with b.mu held.
func (b *queueBatch) lead() time.Duration { return b.tick() + 2*b.renewal + time.Second }

// hideFor is the visibility timeout asked for on receive and renewal: the configured one, or
// twice the lead when renewals take longer than that allows (so that each message is renewed
// at most every other round), within SQS's 12 hours. Called with b.mu held.
func (b *queueBatch) hideFor() time.Duration {
	return min(max(b.q.Visibility, 2*b.lead()), 12*time.Hour)
}

// due is the messages held that would reappear before deadline, soonest first, with their
// latest receipt handles. Called with b.mu held.
func (b *queueBatch) due(deadline time.Time) []aws.Message {
	var out []aws.Message
	for id, l := range b.leases {
		if l.until.Before(deadline) {
			out = append(out, aws.Message{ID: id, Handle: l.handle})
		}
	}
	slices.SortFunc(out, func(x, y aws.Message) int { return b.leases[x.ID].until.Compare(b.leases[y.ID].until) })
	return out
}

// current gives msgs their latest receipt handles. Called with b.mu held.
func (b *queueBatch) current(msgs []aws.Message) []aws.Message {
	for i := range msgs {
		msgs[i].Handle = b.leases[msgs[i].ID].handle
	}
	return msgs
}

// settle deletes the messages whose accounts all committed their files (done), the ignored ones,
// and hands back those for later hours. The others (an account that failed) reappear after
// their timeout and are read again by a later run. Errors are warnings: a message not deleted
// is received again and its files are skipped through the ledger.
func (b *queueBatch) settle(ctx context.Context, done map[string]bool) {
	ctx = context.WithoutCancel(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	var del []aws.Message
	del = append(del, b.ignored...)
	for _, m := range b.pending {
		ok := true
		for _, a := range m.accounts {
			ok = ok && done[a]
		}
		if ok {
			del = append(del, m.Message)
		}
	}
	killpoint("queue-before-delete")
	if err := b.q.Delete(ctx, b.current(del)); err != nil {
		b.log.Warn("queue messages not deleted: they will be received again and their files skipped", "error", err)
	}
	b.Deleted, b.Ignored, b.Deferred, b.Malformed = len(del), len(b.ignored), len(b.later), len(b.bad)
	if err := b.q.SetVisibility(ctx, b.current(b.later), 0); err != nil {
		b.log.Warn("queue messages for later hours not handed back: they reappear after their visibility timeout", "error", err)
	}
	b.log.Info("queue settled", "received", b.Received, "received_again", b.Again, "deleted", b.Deleted, "ignored", b.Ignored,
		"later_hours", b.Deferred, "malformed", b.Malformed, "left_for_retry", len(b.pending)+b.Ignored-b.Deleted)
}

// filesFor returns the account's notified files (nil: none).
func (b *queueBatch) filesFor(accountID string) []aws.LogFile { return b.files[accountID] }

// openQueue builds the queue reader from the configuration (its role defaults to the trail's),
// and an SNS client with the same credentials for check.
func openQueue(ctx context.Context, c *Config) (*aws.Queue, aws.SNSAPI, error) {
	qc := c.AWS.Trail.Queue
	cfg, err := aws.BaseConfig(ctx, c.AWS.Region)
	if err != nil {
		return nil, nil, err
	}
	role := qc.Role
	if role.ARN == "" {
		role = c.AWS.Trail.Role
	}
	ep := c.AWS.Endpoints.sdk()
	if role.ARN != "" {
		if cfg, err = aws.AssumeChain(cfg, c.AWS.hops(role), ep); err != nil {
			return nil, nil, err
		}
	}
	q := &aws.Queue{Client: aws.NewSQSClient(cfg, qc.Region, ep), URL: qc.URL, Visibility: qc.VisibilityTimeout, Wait: qc.Wait}
	return q, aws.NewSNSClient(cfg, topicRegion(qc.TopicARN), ep), nil
}

// topicRegion is the region in an SNS topic's ARN (arn:<partition>:sns:<region>:<account>:<name>).
func topicRegion(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) == 6 {
		return parts[3]
	}
	return ""
}
