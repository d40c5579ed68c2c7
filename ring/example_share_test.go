package ring_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/shmring/shmring/ring"
)

// Sharing a ring between two users through a group. The creator gives the
// file mode 0660 and the shared group; an opener running as another user
// in that group names whom it trusts: the creator as the owner, the group
// as writers. Here one process plays both sides, so the creator's own uid
// and group stand in for them.
func ExampleOpenWith_sharedThroughAGroup() {
	name := fmt.Sprintf("example-shared-%d", os.Getpid())
	creatorUID, group := os.Geteuid(), os.Getegid()

	// The creator, a member of group: the file is 0600 until its group and
	// then its mode are set through the descriptor.
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64, Mode: 0o660, Group: group})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()

	// Another user in group. By default Open trusts only files its own
	// user owns and no one else may write.
	_, err = ring.Open(name)
	fmt.Println(errors.Is(err, ring.ErrUntrusted), errors.Is(err, ring.ErrInsecureMode))
	peer, err := ring.OpenWith(name, ring.OpenOptions{TrustUIDs: []int{creatorUID}, TrustGIDs: []int{group}})
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Close()
	fmt.Println("opened", peer.Slots(), "slots")
	// Output:
	// true true
	// opened 64 slots
}
