package ecrscan

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/scan"
	"github.com/org/ecr-action/internal/testing/fakeclock"
)

// timedScan answers DescribeImageScanFindings as a basic scan that is
// IN_PROGRESS until the fake clock reaches done, then COMPLETE.
type timedScan struct {
	clock *fakeclock.Clock
	done  time.Time
	reads int
	fakeAPI
}

func (s *timedScan) DescribeImageScanFindings(ctx context.Context, in *ecr.DescribeImageScanFindingsInput, _ ...func(*ecr.Options)) (*ecr.DescribeImageScanFindingsOutput, error) {
	if s.during != nil {
		if err := s.during(ctx); err != nil {
			return nil, err
		}
	}
	s.reads++
	status := types.ScanStatusInProgress
	if !s.clock.Now().Before(s.done) {
		status = types.ScanStatusComplete
	}
	return &ecr.DescribeImageScanFindingsOutput{ImageScanStatus: &types.ImageScanStatus{Status: status}, ImageScanFindings: &types.ImageScanFindings{}, ImageId: in.ImageId, RepositoryName: aws.String("app")}, nil
}

// BenchmarkScanWaitLatency measures, on the fake clock, how long after a
// basic scan completes the wait returns, and how many reads it makes, for
// scans of 5, 20, 45 and 120 s after a fresh push (the action's options).
// The scan's end falls anywhere in one poll interval after the nominal
// duration (samples evenly spread), since a real scan's end has no relation
// to the poll schedule. It compares the reads with a fixed 5 s poll (reads
// at 0, 5, 10, … s) on the same scans.
//
//	go test ./internal/scan/ecrscan -run '^$' -bench ScanWaitLatency
func BenchmarkScanWaitLatency(b *testing.B) {
	const samples = 200
	const fixedPoll = 5 * time.Second
	for _, nominal := range []time.Duration{5 * time.Second, 20 * time.Second, 45 * time.Second, 120 * time.Second} {
		b.Run(fmt.Sprintf("scan=%s", nominal), func(b *testing.B) {
			var extras []float64
			var reads, fixedReads, worseThanFixed int
			for range b.N {
				extras, reads, fixedReads, worseThanFixed = extras[:0], 0, 0, 0
				for i := range samples {
					doneAfter := nominal + time.Duration(float64(fixedPoll)*(float64(i)+0.5)/samples)
					start := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
					c := fakeclock.New(start)
					api := &timedScan{clock: c, done: start.Add(doneAfter)}
					res, err := Wait(context.Background(), api, Options{
						Repository: "app", Digest: dA, Targets: []Target{{Digest: dA}},
						Scanning: ScanningConfig{Mode: scan.Basic, Covered: true}, Timeout: 10 * time.Minute,
						FirstRead: FreshPushFirstRead, Clock: c,
					})
					if err != nil || res.Status() != scan.StatusComplete {
						b.Fatalf("scan of %s: %v, %+v", doneAfter, err, res)
					}
					extras = append(extras, c.Now().Sub(api.done).Seconds())
					reads += api.reads
					fixed := 1 + int(math.Ceil(doneAfter.Seconds()/fixedPoll.Seconds()))
					fixedReads += fixed
					if api.reads > fixed {
						worseThanFixed++
					}
				}
			}
			slices.Sort(extras)
			median := (extras[len(extras)/2-1] + extras[len(extras)/2]) / 2 // samples is even
			b.ReportMetric(median, "median-extra-s")
			b.ReportMetric(extras[len(extras)-1], "max-extra-s")
			b.ReportMetric(float64(reads)/samples, "reads/scan")
			b.ReportMetric(float64(fixedReads)/samples, "fixed5s-reads/scan")
			b.ReportMetric(float64(worseThanFixed), "scans-over-fixed5s")
		})
	}
}
