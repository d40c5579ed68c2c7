//go:build linux

package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// rates are per-second changes between two snapshots of one ring. A value
// that went down (a new holder took an entry, the ring was reset) has no
// rate and is left out.
type rates struct {
	Seconds   float64    `json:"seconds"`
	Published float64    `json:"published"`
	Consumed  float64    `json:"consumed"`
	Roles     []roleRate `json:"roles,omitempty"`
}

// roleRate is one role's cursor and counters per second, matched to the
// same role (and entry) in the earlier snapshot.
type roleRate struct {
	Role     string             `json:"role"`
	Entry    uint32             `json:"entry"`
	Cursor   *float64           `json:"cursor,omitempty"`
	Counters map[string]float64 `json:"counters,omitempty"`
}

func rateBetween(prev, cur *statJSON) *rates {
	dt := cur.Time.Sub(prev.Time).Seconds()
	if dt <= 0 {
		return nil
	}
	per := func(a, b uint64) (float64, bool) {
		if b < a {
			return 0, false
		}
		return float64(b-a) / dt, true
	}
	r := &rates{Seconds: dt}
	r.Published, _ = per(prev.Published, cur.Published)
	r.Consumed, _ = per(prev.Consumed, cur.Consumed)
	type key struct {
		role  string
		entry uint32
	}
	old := map[key]int{}
	for i, ro := range prev.Roles {
		old[key{ro.Role, ro.Entry}] = i
	}
	for _, ro := range cur.Roles {
		rr := roleRate{Role: ro.Role, Entry: ro.Entry}
		if i, ok := old[key{ro.Role, ro.Entry}]; ok && prev.Roles[i].Incarnation == ro.Incarnation {
			p := prev.Roles[i]
			if p.Cursor != nil && ro.Cursor != nil {
				if v, ok := per(*p.Cursor, *ro.Cursor); ok {
					rr.Cursor = &v
				}
			}
			for name, v := range ro.Counters {
				if pv, had := p.Counters[name]; had {
					if x, ok := per(pv, v); ok {
						if rr.Counters == nil {
							rr.Counters = map[string]float64{}
						}
						rr.Counters[name] = x
					}
				}
			}
		}
		r.Roles = append(r.Roles, rr)
	}
	return r
}

// roleLine is role i's rates for a table cell; counters that did not move
// are left out (-o json has them all).
func (r *rates) roleLine(i int) string {
	if i >= len(r.Roles) {
		return "-"
	}
	rr := r.Roles[i]
	var parts []string
	if rr.Cursor != nil {
		parts = append(parts, fmt.Sprintf("cursor=%.1f", *rr.Cursor))
	}
	for _, k := range slices.Sorted(maps.Keys(rr.Counters)) {
		if rr.Counters[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s=%.1f", k, rr.Counters[k]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
