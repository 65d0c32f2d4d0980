package ecrlocal

// describeImagesScan is the scan part of DescribeImages' imageDetail. Basic
// scanning is AWS-native since the Clair engine was retired (2026-02-02), and
// it "does not populate the imageScanStatus and imageScanFindingsSummary
// fields in the DescribeImages response": its results come from
// DescribeImageScanFindings only (ECR User Guide, image scanning).
// Enhanced scans keep both fields. The caller
// holds s.mu.
func (s *Server) describeImagesScan(r *repository, digest string) (*scanStatusJSON, *scanSummaryJSON) {
	if rec, ok := r.scans[digest]; !ok || !rec.enhanced {
		return nil, nil
	}
	return s.scanStatusOf(r, digest)
}
