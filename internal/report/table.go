package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table writes right-aligned columns, one row per call, the way every
// ringbench table looks.
type Table struct {
	tw   *tabwriter.Writer
	cols int
}

// NewTable starts a table on w with a header row.
func NewTable(w io.Writer, header ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight), cols: len(header)}
	t.Row(header...)
	return t
}

// Row writes one row; missing cells are left empty.
func (t *Table) Row(cells ...string) {
	for len(cells) < t.cols {
		cells = append(cells, "")
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t")+"\t")
}

// Flush ends the table.
func (t *Table) Flush() { t.tw.Flush() }
