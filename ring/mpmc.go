package ring

import "fmt"

// Placeholder until the MPMC engine lands.
func newMPMCProducer(r *Ring, outer *Producer) (producerImpl, error) {
	return nil, fmt.Errorf("%w: kind=%v not built yet", ErrInvalid, r.hdr.Kind)
}

func newMPMCConsumer(r *Ring, outer *Consumer) (consumerImpl, error) {
	return nil, fmt.Errorf("%w: kind=%v not built yet", ErrInvalid, r.hdr.Kind)
}
