package content_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"supergraph/platform/redisx"
	"supergraph/platform/tasks"
)

func TestReplyNotifiesTheAuthorOfWhatItAnswers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("replies-notify", "PUBLIC")
	postID := e.createPost(c.owner, c.channel, "Question")

	top := e.comment(c.member, postID, "", "An answer")
	reply := e.comment(c.owner, postID, top, "Thanks!")
	e.comment(c.member, postID, top, "My own follow-up")      // to oneself: no notice
	e.comment(c.owner, postID, "", "Owner on their own post") // likewise
	deeper := e.comment(c.admin, postID, reply, "You're welcome to")

	got := e.notices(tasks.KindCommentReply)
	require.Equal(t, []string{c.owner.ID, c.member.ID, c.owner.ID}, recipients(got))

	// A top-level comment tells the post's author.
	require.Equal(t, "Question", got[0].Title)
	require.Equal(t, "An answer", got[0].Body)
	require.Equal(t, "/posts/"+postID+"#comment-"+top, got[0].Link)
	require.Equal(t, map[string]any{"postId": postID, "commentId": top}, got[0].Data)
	require.Equal(t, got[0].EventID, got[0].ID, "the event id is the outbox row id")
	// A reply tells the parent comment's author.
	require.Equal(t, map[string]any{"postId": postID, "commentId": reply, "parentId": top}, got[1].Data)
	require.Equal(t, "Thanks!", got[1].Body)
	require.Equal(t, map[string]any{"postId": postID, "commentId": deeper, "parentId": reply}, got[2].Data)

	// Failed comments write nothing.
	e.Do(e.as(c.stranger), addComment, vars{"p": postID, "b": "not a member"})
	require.Len(t, e.notices(tasks.KindCommentReply), 3)
}

func TestJoinRequestNotifiesOwnerAndAdmins(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("ask-first", "PRIVATE")
	second := newPerson()
	e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": second.ID}).NoErrors(t)
	e.join(second, c.channel)
	e.Do(e.as(c.owner), roleMutation, vars{"c": c.channel, "u": second.ID, "r": "ADMIN"}).NoErrors(t)
	requester := newPerson()

	require.Equal(t, "REQUESTED", e.join(requester, c.channel))
	got := e.notices("CHANNEL_JOIN_REQUEST")
	require.ElementsMatch(t, []string{c.owner.ID, c.admin.ID, second.ID}, recipients(got), "the owner and the admins, not members")
	for _, n := range got {
		require.Equal(t, map[string]any{"channelId": c.channel, "userId": requester.ID}, n.Data)
		require.Equal(t, "/c/ask-first", n.Link)
	}
	require.Equal(t, "REQUESTED", e.join(requester, c.channel))
	require.Len(t, e.notices("CHANNEL_JOIN_REQUEST"), 3, "asking again notifies nobody again")

	// A public channel needs no decision: nobody is told.
	pub := e.createChannel(c.owner, "walk-in", "PUBLIC")
	e.join(newPerson(), pub)
	require.Len(t, e.notices("CHANNEL_JOIN_REQUEST"), 3)

	e.Do(e.as(c.admin), answerMutation, vars{"c": c.channel, "u": requester.ID, "ok": true}).NoErrors(t)
	require.Equal(t, []string{requester.ID}, recipients(e.notices("CHANNEL_JOIN_APPROVED")))
}

// fanOutRow is one content:post-fanout outbox row.
type fanOutRow struct {
	tasks.ContentPostFanOut
	ID    string
	Queue string
}

func (e *env) fanOutRows(postID string) []fanOutRow {
	e.T.Helper()
	rows, err := e.DB.Query(context.Background(),
		`SELECT id::text, queue, payload::text FROM outbox WHERE task_type = $1 AND payload->>'post_id' = $2 ORDER BY created_at, id`,
		tasks.TypeContentPostFanOut, postID)
	require.NoError(e.T, err)
	defer rows.Close()
	var out []fanOutRow
	for rows.Next() {
		var r fanOutRow
		var payload string
		require.NoError(e.T, rows.Scan(&r.ID, &r.Queue, &payload))
		require.NoError(e.T, json.Unmarshal([]byte(payload), &r.ContentPostFanOut))
		require.NoError(e.T, r.Validate())
		out = append(out, r)
	}
	require.NoError(e.T, rows.Err())
	return out
}

// waitFanOutIdle waits until every fan-out row is sent and the content
// queue has nothing left to run: the chain of steps has ended.
func (e *env) waitFanOutIdle(t *testing.T) {
	t.Helper()
	opt, err := redisx.AsynqOpt(e.Config.QueueRedisURL)
	require.NoError(t, err)
	insp := asynq.NewInspector(opt)
	defer func() { require.NoError(t, insp.Close()) }()
	require.Eventually(t, func() bool {
		// The queue first: a step commits its next row before it
		// completes, so once the queue shows it done, the row is counted.
		q, err := insp.GetQueueInfo(tasks.QueueContent)
		unsent := e.count(`SELECT count(*) FROM outbox WHERE task_type = $1 AND sent_at IS NULL`, tasks.TypeContentPostFanOut)
		sent := e.count(`SELECT count(*) FROM outbox WHERE task_type = $1`, tasks.TypeContentPostFanOut)
		return unsent == 0 && err == nil && q.Pending+q.Active+q.Scheduled+q.Retry == 0 && q.Completed == sent
	}, 20*time.Second, 20*time.Millisecond)
}

// newPostRecipients lists the recipients of CHANNEL_NEW_POST notices of a post.
func (e *env) newPostRecipients(postID string) []string {
	e.T.Helper()
	var out []string
	for _, n := range e.notices("CHANNEL_NEW_POST") {
		if n.Data["postId"] == postID {
			out = append(out, n.RecipientID)
		}
	}
	return out
}

func TestNewPostFansOutToMembersWhoOptedIn(t *testing.T) {
	t.Parallel()
	e := setup(t, fanOutBatch(2))
	owner := newPerson()
	ch := e.createChannel(owner, "fan-out", "PUBLIC")
	set := `mutation($c: ID!, $on: Boolean!) { setChannelNotifications(channelId: $c, notifyOnPost: $on) { notifyOnPost } }`
	var optedIn []string
	for i := range 9 {
		p := newPerson()
		e.join(p, ch)
		switch {
		case i < 5:
			e.Do(e.as(p), set, vars{"c": ch, "on": true}).NoErrors(t)
			optedIn = append(optedIn, p.ID)
		case i == 5: // changed their mind
			e.Do(e.as(p), set, vars{"c": ch, "on": true}).NoErrors(t)
			e.Do(e.as(p), set, vars{"c": ch, "on": false}).NoErrors(t)
		case i == 6: // opted in, then left
			e.Do(e.as(p), set, vars{"c": ch, "on": true}).NoErrors(t)
			e.Do(e.as(p), leaveMutation, vars{"id": ch}).NoErrors(t)
		}
	}
	e.Do(e.as(owner), set, vars{"c": ch, "on": true}).NoErrors(t) // the author is never told of their own post
	slices.Sort(optedIn)

	// A draft fans out nothing; the request that publishes writes one row.
	postID := e.draft(owner, ch, "Big news")
	require.Empty(t, e.fanOutRows(postID))
	e.Do(e.as(owner), `mutation($id: ID!) { publishPost(id: $id) { status } }`, vars{"id": postID}).NoErrors(t)
	var first []fanOutRow
	for _, r := range e.fanOutRows(postID) {
		if r.After == "" {
			first = append(first, r)
		}
	}
	require.Len(t, first, 1, "one outbox row in the request, whatever the audience")
	require.Equal(t, tasks.QueueContent, first[0].Queue)

	// The service runs its own queue: steps of two, each queuing the next.
	e.waitFanOutIdle(t)
	got := e.newPostRecipients(postID)
	require.Len(t, got, 5, "each opted-in member once")
	require.ElementsMatch(t, optedIn, got)
	require.NotContains(t, got, owner.ID)
	steps := e.fanOutRows(postID)
	require.Equal(t, []string{"", optedIn[1], optedIn[3]}, []string{steps[0].After, steps[1].After, steps[2].After},
		"2 + 2 + 1 members, in id order; a short step ends the chain")
	require.Len(t, steps, 3)
	for _, n := range e.notices("CHANNEL_NEW_POST") {
		require.Equal(t, "/posts/"+postID, n.Link)
		require.Equal(t, map[string]any{"channelId": ch, "postId": postID}, n.Data)
		require.Equal(t, "New in Channel fan-out: Big news", n.Title)
	}

	// A step that runs again (a retried task, a relay re-sending a row Redis
	// lost) succeeds and notifies nobody twice.
	for _, s := range steps {
		require.NoError(t, e.app.Domain.FanOutStep(t.Context(), s.ContentPostFanOut), "step after %q", s.After)
	}
	require.Len(t, e.newPostRecipients(postID), 5)

	// A post created published fans out the same way; one deleted before
	// its step runs tells nobody.
	second := e.createPost(owner, ch, "More news")
	e.waitFanOutIdle(t)
	require.ElementsMatch(t, optedIn, e.newPostRecipients(second))
	gone := uuid.NewString()
	require.NoError(t, e.app.Domain.FanOutStep(t.Context(), tasks.ContentPostFanOut{PostID: gone}))
}
