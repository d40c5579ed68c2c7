package ringprom

import (
	"maps"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shmring/shmring/internal/ringstat"
)

// Options say which rings a Collector reads on each scrape.
type Options struct {
	// Dirs are directories whose ring files are read (a path to a file
	// reads that file). Empty, and no Names: /dev/shm.
	Dirs []string
	// Names are rings read by name (a bare name in /dev/shm, or an
	// absolute path); a name with no file is left out of the scrape.
	Names []string
}

// Collector reads ring files on each Collect. It is safe for concurrent
// use: it keeps nothing between scrapes.
type Collector struct {
	o Options

	state, held, slots, slotSize, fileSize, created *prometheus.Desc
	published, consumed, slowestReader, backlog     *prometheus.Desc
	closed                                          *prometheus.Desc
	live, attached, left, cursor, lag               *prometheus.Desc
	capacity, maxMessage, sequence, backlogBytes    *prometheus.Desc // record rings
	lagBytes                                        *prometheus.Desc // record rings
	latency, badStamps, sampleEvery                 *prometheus.Desc
	counters                                        map[string]*prometheus.Desc
}

// NewCollector returns a Collector for the rings o names.
func NewCollector(o Options) *Collector {
	ring := []string{"ring", "kind"}
	role := []string{"ring", "kind", "role", "entry"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("shmring_"+name, help, labels, nil)
	}
	c := &Collector{
		o:         o,
		state:     d("ring_state", "1 for the ring's state: ok, idle, stuck, dead, not-ready, truncated, corrupt, foreign-version, not-a-ring, unreadable.", append(ring[:2:2], "state")),
		held:      d("ring_held", "1 while some live process holds a lock on the ring file.", ring),
		slots:     d("ring_slots", "Slots in the ring.", ring),
		slotSize:  d("ring_slot_size_bytes", "Largest message a slot holds.", ring),
		fileSize:  d("ring_file_size_bytes", "Size of the ring file.", ring),
		created:   d("ring_created_timestamp_seconds", "When the ring was created, in seconds since 1970.", ring),
		published: d("ring_published_total", "The producers' frontier: positions published (SPSC, broadcast) or claimed (MPMC Tail).", ring),
		consumed:  d("ring_consumed_total", "The consumers' frontier: positions released (SPSC) or taken (MPMC Head); not for broadcast rings (see ring_slowest_reader_cursor).", ring),
		// The slowest live attached reader is a gauge: a reader joining
		// at Oldest moves it back, one leaving or dying moves it on, and a
		// counter that went down would read as a reset.
		slowestReader: d("ring_slowest_reader_cursor", "A broadcast ring's slowest live attached reader's position (the producer's cursor when none is), at most a ring's capacity behind the producer's (a lossy reader lapped further has its lag in role_lag_messages): it goes back when a reader joins at Oldest.", ring),
		backlog:       d("ring_backlog_messages", "Messages published and not yet consumed (broadcast: by the slowest live attached reader), at most what the ring holds.", ring),
		closed:        d("ring_closed", "1 once the producer side closed the stream.", ring),
		live:          d("role_live", "1 while a live process holds the role's lock.", role),
		attached:      d("role_attached", "1 while the role's state word says attached; attached and not live means its holder died.", role),
		left:          d("role_left", "1 for an MPMC or MPSC consumer entry whose holder closed holding messages it had not released (the next consumer to reap it delivers them), or was closed by its Ring's Close, which leaves the entry so whatever it holds.", role),
		cursor:        d("role_cursor", "The role's own position.", role),
		lag:           d("role_lag_messages", "Messages published and not yet consumed by this role (broadcast: attached readers only, live or dead; an entry its reader closed has none).", role),
		// A record ring's positions count bytes: its frontiers and cursors
		// are bytes, and its backlog and lags have metrics of their own.
		capacity:     d("ring_capacity_bytes", "A record ring's data area.", ring),
		maxMessage:   d("ring_max_message_bytes", "The longest message a record ring carries.", ring),
		sequence:     d("ring_sequenced_messages_total", "A record ring's producer sequence word: the number its next message gets, so the messages numbered (published) since creation or reset; a producer that takes over from one stopped mid-publish sets it back by what that one numbered and did not publish, which reads as a reset.", ring),
		backlogBytes: d("ring_backlog_bytes", "A record ring's bytes published and not yet consumed (broadcast: by the slowest live attached reader), at most its capacity.", ring),
		lagBytes:     d("role_lag_bytes", "A record ring's bytes published and not yet consumed by this role (broadcast: attached readers only).", role),
		latency: d("role_latency_seconds", "Time from a producer's commit to this consumer's or reader's receive, over the sampled messages "+
			"(rings created with telemetry): a native histogram (schema 2; a latency beyond about 57 minutes in the bucket of +Inf) with classic buckets at powers of two.", role),
		badStamps:   d("role_latency_bad_stamps_total", "Sampled messages whose stamp was zero or later than the receiver's clock: counted here, in no bucket.", role),
		sampleEvery: d("ring_telemetry_sample_every", "One message in this many carries a latency stamp (rings created with telemetry).", ring),
		counters:    map[string]*prometheus.Desc{},
	}
	for _, name := range slices.Sorted(maps.Keys(ringstat.CounterHelp)) {
		c.counters[name] = d("role_"+name+"_total", "From the ring file: "+ringstat.CounterHelp[name]+".", role)
	}
	return c
}

// Describe sends every descriptor the Collector uses.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.held, c.slots, c.slotSize, c.fileSize, c.created,
		c.published, c.consumed, c.slowestReader, c.backlog, c.closed, c.live, c.attached, c.left, c.cursor, c.lag,
		c.latency, c.badStamps, c.sampleEvery, c.capacity, c.maxMessage, c.sequence, c.backlogBytes, c.lagBytes} {
		ch <- d
	}
	for _, d := range c.counters {
		ch <- d
	}
}

// Collect reads every ring and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.read() {
		c.collectRing(ch, &s)
	}
}

// read takes a snapshot of every ring the options name, each once.
func (c *Collector) read() []ringstat.Snapshot {
	dirs := c.o.Dirs
	if len(dirs) == 0 && len(c.o.Names) == 0 {
		dirs = []string{ringstat.ShmDir}
	}
	rings, _ := ringstat.List(dirs, false) // a directory that cannot be read exports nothing
	for _, name := range c.o.Names {
		if s, err := ringstat.Read(name); err == nil {
			rings = append(rings, s)
		}
	}
	seen := map[string]bool{}
	out := rings[:0]
	for _, s := range rings {
		if !seen[s.Path] {
			seen[s.Path] = true
			out = append(out, s)
		}
	}
	return out
}

func (c *Collector) collectRing(ch chan<- prometheus.Metric, s *ringstat.Snapshot) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.state, 1, s.Name, s.Kind, string(s.State))
	if s.HeldKnown() { // a file this process cannot open: unknown, not "not held"
		gauge(c.held, bit(s.Held), s.Name, s.Kind)
	}
	gauge(c.fileSize, float64(s.FileSize), s.Name, s.Kind)
	if s.Kind == "" {
		return // the header was not read: nothing else is known
	}
	lag, backlog := c.lag, c.backlog
	if s.Records {
		gauge(c.capacity, float64(s.Capacity), s.Name, s.Kind)
		gauge(c.maxMessage, float64(s.MaxMessage), s.Name, s.Kind)
		lag, backlog = c.lagBytes, c.backlogBytes
	} else {
		gauge(c.slots, float64(s.Slots), s.Name, s.Kind)
		gauge(c.slotSize, float64(s.SlotSize), s.Name, s.Kind)
	}
	gauge(c.created, float64(s.Created.UnixNano())/1e9, s.Name, s.Kind)
	if s.State.Broken() {
		return // corrupt or truncated: its words are not worth exporting
	}
	counter(c.published, s.Published, s.Name, s.Kind)
	if s.Kind == "broadcast" {
		gauge(c.slowestReader, float64(s.Consumed), s.Name, s.Kind)
	} else {
		counter(c.consumed, s.Consumed, s.Name, s.Kind)
	}
	gauge(backlog, float64(s.Backlog), s.Name, s.Kind)
	if s.Records {
		counter(c.sequence, s.Sequence, s.Name, s.Kind)
	}
	gauge(c.closed, bit(s.Closed), s.Name, s.Kind)
	if s.SampleEvery != 0 {
		gauge(c.sampleEvery, float64(s.SampleEvery), s.Name, s.Kind)
	}
	for _, r := range s.Roles {
		l := []string{s.Name, s.Kind, r.Role, strconv.FormatUint(uint64(r.Entry), 10)}
		gauge(c.live, bit(r.Live), l...)
		gauge(c.attached, bit(r.Attached), l...)
		if r.Left {
			gauge(c.left, 1, l...)
		}
		if r.Cursor != nil {
			gauge(c.cursor, float64(*r.Cursor), l...)
		}
		if r.Lag != nil {
			gauge(lag, float64(*r.Lag), l...)
		}
		for name, v := range r.Counters {
			if d := c.counters[name]; d != nil {
				counter(d, v, l...)
			}
		}
		if r.Latency != nil {
			ch <- newLatencyMetric(c.latency, r.Latency, l...)
			counter(c.badStamps, r.Latency.Bad, l...)
		}
	}
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
