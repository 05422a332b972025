package normalize

// AddIdentity appends id to ids unless the same (anonymous id, user) pair
// is already there, in which case a later non-empty email fills a missing
// one: what every provider does while collecting a delivery's identify calls.
func AddIdentity(ids []Identity, id Identity) []Identity {
	for i := range ids {
		if ids[i].AnonymousID == id.AnonymousID && ids[i].UserID == id.UserID {
			if ids[i].Email == "" {
				ids[i].Email = id.Email
			}
			return ids
		}
	}
	return append(ids, id)
}
