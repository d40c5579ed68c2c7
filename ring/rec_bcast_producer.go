package ring

// newRecBcastProducer is a placeholder until the broadcast record engine lands.
func newRecBcastProducer(r *Ring) (producerEngine, error) {
	return nil, ErrUnsupported
}
