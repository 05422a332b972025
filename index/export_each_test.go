package index

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// ExportEach hands out exactly Export's records in Export's order, and
// stops at the first emit error.
func TestActivityExportEachMatchesExport(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryActivity(2000, 5)
	for i := range 1500 {
		k := SessionKey{ProductID: "p", SessionID: fmt.Sprintf("s%04d", i)}
		_ = m.AddActions(ctx, k, payload(fmt.Sprintf("u%d", i%7), "", "a", "b"), float64(i))
	}
	var got []SessionRecord
	if err := m.ExportEach(func(r SessionRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := m.Export(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ExportEach gave %d records, Export %d (or another order)", len(got), len(want))
	}
	stop := errors.New("disk full")
	n := 0
	err := m.ExportEach(func(SessionRecord) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("err %v after %d records, want the emit error after 10", err, n)
	}
}

func TestUsersExportEachMatchesExport(t *testing.T) {
	m := NewMemoryUsers(UserLimits{Lookback: time.Hour, MaxSessionsPerUser: 3, MaxUsers: 5000})
	now := time.Unix(1_700_000_000, 0)
	for i := range 3000 {
		ref := SessionRef{SessionID: fmt.Sprintf("s%d", i), ProductID: "p", LastSeenAt: float64(now.Unix() - int64(i))}
		_ = m.Link(context.Background(), fmt.Sprintf("u%d", i%1000), "", ref, now)
	}
	var got []UserRecord
	if err := m.ExportEach(now, func(r UserRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := m.Export(now); !reflect.DeepEqual(got, want) || len(got) != 1000 {
		t.Fatalf("ExportEach gave %d records, Export %d (or another order)", len(got), len(want))
	}
}
