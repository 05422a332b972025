package index

import (
	"context"
	"fmt"
	"testing"
)

func TestMemoryRejectedKeepsTheNewestWithinItsBound(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ max, add, limit, want int }{
		{max: 3, add: 0, limit: 10, want: 0},
		{max: 3, add: 2, limit: 10, want: 2},
		{max: 3, add: 10, limit: 10, want: 3},
		{max: 3, add: 10, limit: 2, want: 2},
		{max: 0, add: 5, limit: 10, want: 0},
	} {
		t.Run(fmt.Sprintf("max%d_add%d_limit%d", tc.max, tc.add, tc.limit), func(t *testing.T) {
			m := NewMemoryRejected(tc.max)
			for i := 0; i < tc.add; i++ {
				_ = m.Add(ctx, Rejection{Source: fmt.Sprint(i)})
			}
			got, _ := m.Recent(ctx, tc.limit)
			if len(got) != tc.want {
				t.Fatalf("got %d, want %d", len(got), tc.want)
			}
			for i, r := range got {
				if want := fmt.Sprint(tc.add - 1 - i); r.Source != want {
					t.Fatalf("entry %d = %s, want %s (newest first)", i, r.Source, want)
				}
			}
		})
	}
}
