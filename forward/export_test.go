package forward

// PartitionOf exposes partitionOf to the external tests.
var PartitionOf = partitionOf
