//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/report"
)

// formatRun is one short real run writing every output format; the tests
// below check each format's shape, never a figure's value.
type formatRun struct {
	stdout, stderr string
	jsonFile       string
	hgrmDir        string
}

func runWithOutputs(t *testing.T) formatRun {
	t.Helper()
	dir := t.TempDir()
	r := formatRun{jsonFile: filepath.Join(dir, "run.json"), hgrmDir: filepath.Join(dir, "hgrm")}
	if err := os.Mkdir(r.hgrmDir, 0o755); err != nil { // --hgrm, as --json, writes into a directory that is there
		t.Fatal(err)
	}
	args := []string{"run", "--duration=20ms", "--warmup=5ms", "--reps=2", "--transports=pipe,chan", "--sizes=8,64",
		"--fingerprint=false", "--json", r.jsonFile, "--hgrm", r.hgrmDir, "--bench"}
	var stdout, stderr bytes.Buffer
	if code := execute(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

// The cells the run above measures: 2 transports × 2 workloads × 2 sizes.
const formatCells, formatReps = 8, 2

func TestJSONHoldsEveryRepetitionTheMachineAndTheFlags(t *testing.T) {
	r := runWithOutputs(t)
	j, err := readJSONFile(r.jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if j.Machine.GoVersion == "" || j.Machine.GOMAXPROCS == 0 || j.Machine.CPU == "" {
		t.Errorf("machine incomplete: %+v", j.Machine)
	}
	if !strings.Contains(strings.Join(j.Flags, " "), "--sizes=8,64") {
		t.Errorf("flags %q lack --sizes=8,64", j.Flags)
	}
	if len(j.Results) != formatCells {
		t.Fatalf("got %d results, want %d", len(j.Results), formatCells)
	}
	for _, c := range j.Results {
		if len(c.Reps) != formatReps {
			t.Errorf("%s %s %d: got %d repetitions, want %d", c.Transport, c.Workload, c.Size, len(c.Reps), formatReps)
		}
		switch c.Workload {
		case "throughput":
			if c.MsgsPerSec == nil || c.MsgsPerSec.Min > c.MsgsPerSec.Median || c.MsgsPerSec.Median > c.MsgsPerSec.Max {
				t.Errorf("%s %d: bad throughput spread %+v", c.Transport, c.Size, c.MsgsPerSec)
			}
		case "pingpong":
			h, err := hdrhistogram.Decode([]byte(c.Histogram))
			if err != nil {
				t.Fatalf("%s %d: histogram does not decode: %v", c.Transport, c.Size, err)
			}
			var sum int64
			for _, rep := range c.Reps {
				rh, err := hdrhistogram.Decode([]byte(rep.Histogram))
				if err != nil {
					t.Fatal(err)
				}
				sum += rh.TotalCount()
			}
			if h.TotalCount() != sum || sum == 0 {
				t.Errorf("%s %d: merged histogram holds %d samples, repetitions %d", c.Transport, c.Size, h.TotalCount(), sum)
			}
			for _, q := range report.Quantiles {
				if _, ok := c.LatencyNs[q.Name]; !ok {
					t.Errorf("%s %d: latency lacks %s", c.Transport, c.Size, q.Name)
				}
			}
		}
	}
}

// TestBenchLinesAreGoBenchmarkFormat parses the --bench output by the rules
// of https://go.dev/design/14313-benchmark-format, as benchstat does.
func TestBenchLinesAreGoBenchmarkFormat(t *testing.T) {
	r := runWithOutputs(t)
	if !strings.Contains(r.stderr, "== 64-byte messages ==") {
		t.Errorf("with --bench the table should go to stderr; stderr:\n%s", r.stderr)
	}
	lines, config := 0, map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		line := sc.Text()
		if key, val, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, "Benchmark") {
			config[key] = val
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "BenchmarkRingbench/transport=") {
			t.Errorf("not a benchmark line: %q", line)
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err != nil || n == 0 {
			t.Errorf("%q: iterations %q are not a positive integer", line, f[1])
		}
		units := map[string]bool{}
		for i := 2; i < len(f); i += 2 {
			if _, err := strconv.ParseFloat(f[i], 64); err != nil {
				t.Errorf("%q: value %q is not a number", line, f[i])
			}
			units[f[i+1]] = true
		}
		if !units["ns/msg"] && !units["rtt-p99.9-ns"] {
			t.Errorf("%q: neither ns/msg nor rtt-p99.9-ns", line)
		}
		lines++
	}
	if lines != formatCells*formatReps {
		t.Errorf("got %d benchmark lines, want %d (one per repetition)", lines, formatCells*formatReps)
	}
	for _, k := range []string{"goos", "goarch", "pkg", "cpu"} {
		if config[k] == "" {
			t.Errorf("no %q configuration line", k)
		}
	}
}

// TestHgrmFilesAreHdrHistogramPercentileDistributions checks the layout
// HdrHistogram's plotter reads: a header row, rows of value, percentile,
// count and 1/(1-percentile), then the #[Mean …] footer.
func TestHgrmFilesAreHdrHistogramPercentileDistributions(t *testing.T) {
	r := runWithOutputs(t)
	for _, name := range []string{"pipe_pingpong_8.hgrm", "pipe_pingpong_64.hgrm", "chan_pingpong_8.hgrm", "chan_pingpong_64.hgrm"} {
		b, err := os.ReadFile(filepath.Join(r.hgrmDir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if f := strings.Fields(lines[0]); len(f) != 4 || f[0] != "Value" || f[1] != "Percentile" {
			t.Errorf("%s: header %q", name, lines[0])
		}
		rows, lastP, footer := 0, -1.0, false
		for _, l := range lines[1:] {
			switch {
			case strings.TrimSpace(l) == "":
			case strings.HasPrefix(l, "#[Mean"):
				footer = true
			case strings.HasPrefix(l, "#["):
			default:
				f := strings.Fields(l)
				if len(f) != 4 {
					t.Fatalf("%s: row %q has %d fields, want 4", name, l, len(f))
				}
				p, err := strconv.ParseFloat(f[1], 64)
				if err != nil || p < lastP || p > 1 {
					t.Fatalf("%s: percentile %q out of order or range", name, f[1])
				}
				lastP = p
				rows++
			}
		}
		if rows < 2 || lastP != 1 || !footer {
			t.Errorf("%s: %d rows, last percentile %v, footer %v: want rows up to 1.0 and a footer", name, rows, lastP, footer)
		}
	}
}

func TestPlotRendersPNGAndSVG(t *testing.T) {
	r := runWithOutputs(t)
	j, err := readJSONFile(r.jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	files, err := renderPlots(j, out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"throughput.png": false, "throughput.svg": false, "latency-pingpong-64.png": false, "latency-pingpong-64.svg": false}
	for _, f := range files {
		if _, ok := want[filepath.Base(f)]; ok {
			want[filepath.Base(f)] = true
		}
		file, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(f) {
		case ".png":
			if _, err := png.Decode(file); err != nil {
				t.Errorf("%s does not decode as PNG: %v", f, err)
			}
		case ".svg":
			if err := parseXML(file); err != nil {
				t.Errorf("%s does not parse as XML: %v", f, err)
			}
		}
		file.Close()
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("%s was not rendered (got %v)", name, files)
		}
	}
	// Through the command line as well.
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"plot", "--json", r.jsonFile, "--out", t.TempDir()}, &stdout, &stderr); code != 0 {
		t.Errorf("ringbench plot: exit %d: %s", code, stderr.String())
	}
}

func parseXML(r io.Reader) error {
	d := xml.NewDecoder(r)
	sawSVG := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !sawSVG {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			sawSVG = true
		}
	}
}

func TestCompareShowsBothFiguresAndTheRatio(t *testing.T) {
	r := runWithOutputs(t)
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"compare", r.jsonFile, r.jsonFile}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"B/A", "msgs/s", "p99", "1.000", "pipe", "chan"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare output lacks %q:\n%s", want, out)
		}
	}
	if code := execute([]string{"compare", r.jsonFile, filepath.Join(t.TempDir(), "missing.json")}, &stdout, &stderr); code == 0 {
		t.Errorf("compare with a missing file succeeded")
	}
}

func TestEnvPrintsTheMachine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := execute([]string{"env", "--fingerprint=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"cpu:", "cache line:", "logical cores:", "kernel:", "go:", "GOMAXPROCS:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("env output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestASizeAQueueCannotHoldIsSkippedWithTheReason(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"--transports=mq,pipe", "--sizes=16k", "--reps=1", "--duration=20ms", "--warmup=5ms", "--fingerprint=false"}
	if code := execute(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "skipped: ") {
		t.Errorf("no skipped row for a 16 KiB message queue:\n%s", stdout.String())
	}
}

// TestASweepDescribesEachSizesRing: a ring's geometry follows the message
// size, so a run over several sizes describes the ring of each, in the
// text legend and in each JSON result. Both used to give the first size's
// geometry for every size. (From a black-box tester.)
func TestASweepDescribesEachSizesRing(t *testing.T) {
	jsonFile := filepath.Join(t.TempDir(), "run.json")
	args := []string{"run", "--duration=20ms", "--warmup=5ms", "--reps=1", "--transports=shmring", "--sizes=8,64",
		"--workloads=throughput", "--fingerprint=false", "--json", jsonFile}
	var stdout, stderr bytes.Buffer
	if code := execute(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"shmring (8-byte):", "slots of 8 B", "shmring (64-byte):", "slots of 64 B"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the legend lacks %q:\n%s", want, stdout.String())
		}
	}
	j, err := readJSONFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range j.Results {
		if want := fmt.Sprintf("slots of %d B", c.Size); !strings.Contains(c.Description, want) {
			t.Errorf("result for %d-byte messages described as %q, want %q in it", c.Size, c.Description, want)
		}
	}
	if len(j.Results) != 2 {
		t.Errorf("got %d results, want 2", len(j.Results))
	}
}
