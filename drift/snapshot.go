package drift

import "time"

// Counters is what a snapshot keeps of the drift tracker: the window's
// start and per-source counters, the window's lookup totals and the lifetime
// totals. Lookup misses, conflicts, examples and known ids are not kept; they
// rebuild from new traffic after a restart.
type Counters struct {
	Start  time.Time    `json:"start"`
	Window Totals       `json:"window"`
	Life   Totals       `json:"life"`
	Rows   []CounterRow `json:"rows"`
}

// CounterRow is one (source, product) row's counters.
type CounterRow struct {
	Source     string           `json:"source"`
	Product    string           `json:"product"`
	Provider   string           `json:"provider"`
	Deliveries int64            `json:"deliveries"`
	Payloads   int64            `json:"payloads"`
	Missing    int64            `json:"missing_user_id"`
	Late       int64            `json:"late"`
	Rejected   map[string]int64 `json:"rejected,omitempty"`
}

// Counters returns the tracker's counters for a snapshot.
func (d *Memory) Counters() Counters {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := Counters{Start: d.start, Window: d.window, Life: d.Totals()}
	for k, r := range d.rows {
		row := CounterRow{Source: k.source, Product: k.product, Provider: r.provider,
			Deliveries: r.deliveries, Payloads: r.payloads, Missing: r.missing, Late: r.late}
		if len(r.rejected) > 0 {
			row.Rejected = make(map[string]int64, len(r.rejected))
			for code, n := range r.rejected {
				row.Rejected[code] = n
			}
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// RestoreCounters adds saved counters to the tracker (call it before
// traffic). Rows of sources no longer configured are dropped, so the row
// bound holds; rejection codes are capped like live ones.
func (d *Memory) RestoreCounters(c Counters) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !c.Start.IsZero() {
		d.start = c.Start
	}
	d.window.Lookups += c.Window.Lookups
	d.window.LookupMisses += c.Window.LookupMisses
	d.life.deliveries.Add(c.Life.Deliveries)
	d.life.payloads.Add(c.Life.Payloads)
	d.life.missing.Add(c.Life.MissingUserID)
	d.life.lookups.Add(c.Life.Lookups)
	d.life.misses.Add(c.Life.LookupMisses)
	for _, r := range c.Rows {
		if _, ok := d.sources[r.Source]; !ok {
			continue
		}
		row, ok := d.rows[rowKey{r.Source, r.Product}]
		if !ok {
			if d.extraRows >= MaxExtraRows {
				continue
			}
			row = &sourceRow{provider: r.Provider}
			d.rows[rowKey{r.Source, r.Product}] = row
			d.extraRows++
		}
		row.deliveries += r.Deliveries
		row.payloads += r.Payloads
		row.missing += r.Missing
		row.late += r.Late
		for code, n := range r.Rejected {
			if row.rejected == nil {
				row.rejected = map[string]int64{}
			}
			if _, seen := row.rejected[code]; seen || len(row.rejected) < MaxCodes {
				row.rejected[code] += n
			}
		}
	}
}
