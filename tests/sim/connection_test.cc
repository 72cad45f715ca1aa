// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection against a scripted server: request/response matching, credits, interim responses,
// compound responses, timeouts and keepalive, send failures and closing ([MS-SMB2] 3.2.4.1,
// 3.2.5.1, 3.2.6.1).
#include <algorithm>
#include <atomic>
#include <random>
#include <set>

#include "connection_fixture.h"
#include "smb2/read.h"
#include "smb3/ntstatus.h"

namespace smb3::test {
namespace {

// --- request/response matching ------------------------------------------------------------------

// 8 threads submit 200 READs each; the server answers whatever has arrived in a shuffled order,
// granting the credits asked for. Every callback must get the response to its own request
// ([MS-SMB2] 3.2.5.1.2: matched by MessageId), exactly once.
TEST_F(ConnectionSim, ManySubmittersMatchedByMessageIdOutOfOrder) {
  StartConnection();
  constexpr int kThreads = 8, kPerThread = 200, kTotal = kThreads * kPerThread;

  std::mutex mu;
  std::condition_variable cv;
  int completed = 0, mismatched = 0, failed = 0;
  std::vector<int> calls(kTotal, 0);

  std::atomic<bool> server_ok{true};
  std::set<uint64_t> message_ids;
  std::thread server([&] {
    std::mt19937 rng(1234);
    int answered = 0;
    while (answered < kTotal) {
      std::vector<ClientRequest> batch;
      // Take one message (waiting), then everything else already sent.
      do {
        auto m = server_->Next();
        if (!m.ok()) {
          server_ok = false;
          return;
        }
        for (auto& r : m->requests) batch.push_back(std::move(r));
      } while (wire_->sent_count() > answered + batch.size());
      std::shuffle(batch.begin(), batch.end(), rng);
      for (const ClientRequest& r : batch) {
        if (!message_ids.insert(r.header.message_id).second) server_ok = false;
        uint8_t token[8];
        StoreU64(token, ReadOffsetOf(r));
        ResponseOptions o;
        o.credits = r.header.credits;  // grant what is asked, as Samba does
        ASSERT_TRUE(server_->Reply({ReadResponse(r.header, token, o)}).ok());
      }
      answered += static_cast<int>(batch.size());
    }
  });

  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        conn_->Submit(ReadRequest(8, static_cast<uint64_t>(id)), [&, id](Result<Response> r) {
          std::lock_guard lock(mu);
          ++calls[id];
          if (!r.ok()) {
            ++failed;
          } else {
            auto rr = smb2::DecodeReadResponse(r->message);
            if (!rr.ok() || rr->data.size() != 8 || LoadU64(rr->data.data()) != static_cast<uint64_t>(id))
              ++mismatched;
          }
          ++completed;
          cv.notify_all();
        });
      }
    });
  }
  for (auto& s : submitters) s.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return completed == kTotal; }))
        << completed << " of " << kTotal << " completed";
  }
  server.join();
  EXPECT_TRUE(server_ok);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(mismatched, 0);
  EXPECT_EQ(message_ids.size(), static_cast<size_t>(kTotal));
  EXPECT_TRUE(std::all_of(calls.begin(), calls.end(), [](int c) { return c == 1; }));
  EXPECT_EQ(conn_->stats().responses, static_cast<uint64_t>(kTotal));
  EXPECT_TRUE(conn_->connected());
}

// --- credits ---------------------------------------------------------------------------------------

// The window starts with one credit ([MS-SMB2] 3.2.4.1.5 / 3.2.1.2: MessageId 0 only): a second
// request waits until a response grants more, then takes MessageId 1.
TEST_F(ConnectionSim, SecondRequestWaitsForTheFirstCredit) {
  StartConnection();
  Outcome first, second;
  conn_->Submit(EchoRequest(), first.Callback());
  ClientRequest r0 = NextSingle();
  EXPECT_EQ(r0.header.message_id, 0u);
  EXPECT_EQ(conn_->stats().credits, 0u);

  std::thread blocked([&] { conn_->Submit(EchoRequest(), second.Callback()); });
  ASSERT_TRUE(WaitUntil([&] { return conn_->stats().credit_stalls == 1; }));
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(wire_->sent_count(), 1u);  // still waiting

  ResponseOptions grant_one;
  grant_one.credits = 1;
  ASSERT_TRUE(server_->Reply({EchoResponse(r0.header, grant_one)}).ok());
  ClientRequest r1 = NextSingle();
  blocked.join();
  EXPECT_EQ(r1.header.message_id, 1u);
  ASSERT_TRUE(server_->Reply({EchoResponse(r1.header)}).ok());
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(first.result().ok());
  EXPECT_TRUE(second.result().ok());
  EXPECT_EQ(first.result()->header.message_id, 0u);
  EXPECT_EQ(second.result()->header.message_id, 1u);
  EXPECT_EQ(first.calls(), 1);
  EXPECT_EQ(second.calls(), 1);
}

// [MS-SMB2] 3.1.5.2 / 3.2.4.1.5: a 1 MiB READ charges 16 credits and consumes 16 consecutive
// MessageIds; the next request gets the MessageId after them.
TEST_F(ConnectionSim, OneMebibyteReadConsumesSixteenMessageIds) {
  StartConnection();
  Outcome echo, read, after;
  conn_->Submit(EchoRequest(), echo.Callback());
  ClientRequest e = NextSingle();
  ResponseOptions grant;
  grant.credits = 20;
  ASSERT_TRUE(server_->Reply({EchoResponse(e.header, grant)}).ok());
  ASSERT_TRUE(echo.Wait());
  EXPECT_EQ(conn_->stats().credits, 20u);

  conn_->Submit(ReadRequest(1 << 20, 0), read.Callback());
  ClientRequest r = NextSingle();
  EXPECT_EQ(r.header.message_id, 1u);
  EXPECT_EQ(r.header.credit_charge, 16u);
  EXPECT_GE(r.header.credits, 16u);  // CreditRequest replaces at least what it consumes
  EXPECT_EQ(conn_->stats().credits, 4u);

  conn_->Submit(EchoRequest(), after.Callback());
  ClientRequest a = NextSingle();
  EXPECT_EQ(a.header.message_id, 17u);
  EXPECT_EQ(a.header.credit_charge, 1u);

  std::vector<uint8_t> data(1 << 20, 0xAB);
  ResponseOptions grant16;
  grant16.credits = 16;
  ASSERT_TRUE(server_->Reply({ReadResponse(r.header, data, grant16)}).ok());
  ASSERT_TRUE(server_->Reply({EchoResponse(a.header)}).ok());
  ASSERT_TRUE(read.Wait());
  ASSERT_TRUE(after.Wait());
  ASSERT_TRUE(read.result().ok());
  auto rr = smb2::DecodeReadResponse(read.result()->message);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(rr->data.size(), data.size());
  EXPECT_EQ(conn_->stats().credits, 3u + 16u + 1u);
}

// A server that grants no credits: the next request waits for request_timeout and then fails
// with kTimeout without being sent.
TEST_F(ConnectionSim, NoCreditsGrantedFailsWithTimeout) {
  auto options = DefaultOptions();
  options.request_timeout = std::chrono::milliseconds(200);
  StartConnection(options);
  Outcome first, starved;
  conn_->Submit(EchoRequest(), first.Callback());
  ClientRequest r0 = NextSingle();
  ResponseOptions none;
  none.credits = 0;
  ASSERT_TRUE(server_->Reply({EchoResponse(r0.header, none)}).ok());
  ASSERT_TRUE(first.Wait());
  EXPECT_TRUE(first.result().ok());

  const auto start = Clock::now();
  conn_->Submit(EchoRequest(), starved.Callback());  // blocks for request_timeout
  const auto waited = Clock::now() - start;
  ASSERT_TRUE(starved.Wait(std::chrono::milliseconds(0)));
  EXPECT_TRUE(starved.status().Is(Code::kTimeout)) << starved.status().ToString();
  EXPECT_GE(waited, options.request_timeout);
  EXPECT_LT(waited, options.request_timeout + std::chrono::seconds(5));
  EXPECT_EQ(wire_->sent_count(), 1u);
  EXPECT_EQ(starved.calls(), 1);
}

// [MS-SMB2] 3.1.5.2: CreditCharge is 16 bits. A request whose payload would need more than 65535
// credits can never be sent; it must not go out with a CreditCharge that wrapped to 0 (and cost a
// single credit).
TEST_F(ConnectionSim, CreditChargeDoesNotWrapForHugePayloads) {
  auto options = DefaultOptions();
  options.request_timeout = std::chrono::milliseconds(100);
  StartConnection(options);
  Outcome huge;
  CloseAtExit close_at_exit(conn_);
  Request r = ReadRequest(16, 0);
  r.credit_bytes = 0xFFFFFFFFu;  // (2^32 - 2) / 65536 + 1 = 65536 credits
  conn_->Submit(std::move(r), huge.Callback());
  ASSERT_TRUE(WaitUntil([&] { return huge.calls() > 0 || wire_->sent_count() > 0; }));
  if (wire_->sent_count() > 0) {
    auto m = DecodeClientMessage(wire_->sent_at(0));
    ASSERT_TRUE(m.ok());
    ADD_FAILURE() << "sent with CreditCharge " << m->requests[0].header.credit_charge
                  << " for a payload that needs 65536 credits";
  } else {
    EXPECT_FALSE(huge.result().ok());
    EXPECT_EQ(huge.calls(), 1);
  }
}

// A request blocked on credits fails promptly when the server hangs up.
TEST_F(ConnectionSim, CreditWaitEndsWhenTheServerCloses) {
  StartConnection();
  Outcome first, blocked_outcome;
  conn_->Submit(EchoRequest(), first.Callback());
  (void)NextSingle();
  std::thread blocked([&] { conn_->Submit(EchoRequest(), blocked_outcome.Callback()); });
  ASSERT_TRUE(WaitUntil([&] { return conn_->stats().credit_stalls == 1; }));
  wire_->CloseFromServer(Status(Code::kDisconnected, 0, "test: server hung up"));
  ASSERT_TRUE(blocked_outcome.Wait());
  blocked.join();
  ASSERT_TRUE(first.Wait());
  EXPECT_TRUE(blocked_outcome.status().Is(Code::kDisconnected));
  EXPECT_TRUE(first.status().Is(Code::kDisconnected));
  EXPECT_EQ(first.calls(), 1);
  EXPECT_EQ(blocked_outcome.calls(), 1);
}

// A callback (on the receive thread) must never wait for credits: with none available its
// Submit fails at once with kResourceExhausted instead of deadlocking the receive thread.
TEST_F(ConnectionSim, SubmitFromACallbackWithoutCreditsFailsInsteadOfBlocking) {
  StartConnection();
  Outcome first, nested;
  conn_->Submit(EchoRequest(), [&](Result<Response> r) {
    conn_->Submit(EchoRequest(), nested.Callback());
    first.Callback()(std::move(r));
  });
  ClientRequest r0 = NextSingle();
  ResponseOptions none;
  none.credits = 0;
  ASSERT_TRUE(server_->Reply({EchoResponse(r0.header, none)}).ok());
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(nested.Wait());
  EXPECT_TRUE(nested.status().Is(Code::kResourceExhausted)) << nested.status().ToString();
  EXPECT_EQ(nested.calls(), 1);
  EXPECT_TRUE(conn_->connected());
}

// --- STATUS_PENDING ------------------------------------------------------------------------------

// [MS-SMB2] 3.2.5.1.5: an interim response (ASYNC, STATUS_PENDING) leaves the request pending but
// grants credits ([MS-SMB2] 3.2.5.1.4); the final response with the same MessageId completes it.
TEST_F(ConnectionSim, InterimResponseGrantsCreditsAndFinalResponseCompletes) {
  StartConnection();
  Outcome read, blocked_outcome;
  conn_->Submit(ReadRequest(100, 5), read.Callback());
  ClientRequest r = NextSingle();

  std::thread blocked([&] { conn_->Submit(EchoRequest(), blocked_outcome.Callback()); });
  ASSERT_TRUE(WaitUntil([&] { return conn_->stats().credit_stalls == 1; }));

  ASSERT_TRUE(server_->Reply({InterimResponse(r.header, 0xA5A5, 2)}).ok());
  ClientRequest e = NextSingle();  // the interim's credits released the blocked submitter
  blocked.join();
  EXPECT_EQ(e.header.message_id, 1u);
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(read.calls(), 0);
  EXPECT_EQ(conn_->stats().interims, 1u);
  EXPECT_EQ(conn_->stats().credits, 1u);  // 2 granted, 1 taken by the echo

  std::vector<uint8_t> data(100, 0x42);
  ResponseOptions final_options;
  final_options.async_id = 0xA5A5;
  ASSERT_TRUE(server_->Reply({ReadResponse(r.header, data, final_options)}).ok());
  ASSERT_TRUE(server_->Reply({EchoResponse(e.header)}).ok());
  ASSERT_TRUE(read.Wait());
  ASSERT_TRUE(blocked_outcome.Wait());
  ASSERT_TRUE(read.result().ok()) << read.status().ToString();
  EXPECT_EQ(read.result()->nt_status(), STATUS_SUCCESS);
  EXPECT_TRUE(read.result()->header.is_async());
  EXPECT_EQ(read.result()->header.async_id, 0xA5A5u);
  auto rr = smb2::DecodeReadResponse(read.result()->message);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(std::vector<uint8_t>(rr->data.begin(), rr->data.end()), data);
  EXPECT_TRUE(blocked_outcome.result().ok());
  EXPECT_EQ(read.calls(), 1);
  EXPECT_EQ(blocked_outcome.calls(), 1);
}

// A failing final status is a response like any other: delivered, not a connection error.
TEST_F(ConnectionSim, ErrorResponseIsDeliveredWithItsStatus) {
  StartConnection();
  Outcome read;
  conn_->Submit(ReadRequest(100, 0), read.Callback());
  ClientRequest r = NextSingle();
  ASSERT_TRUE(server_->Reply({ErrorResponse(r.header, STATUS_END_OF_FILE)}).ok());
  ASSERT_TRUE(read.Wait());
  ASSERT_TRUE(read.result().ok());
  EXPECT_EQ(read.result()->nt_status(), STATUS_END_OF_FILE);
  EXPECT_TRUE(conn_->connected());
}

// --- compound responses -----------------------------------------------------------------------

class CompoundSim : public ConnectionSim {
 protected:
  // Sends three echoes with enough credits and returns their requests.
  std::vector<ClientRequest> ThreeOutstanding(Outcome (&outcomes)[3]) {
    Outcome warmup;
    conn_->Submit(EchoRequest(), warmup.Callback());
    ClientRequest w = NextSingle();
    ResponseOptions grant;
    grant.credits = 8;
    EXPECT_TRUE(server_->Reply({EchoResponse(w.header, grant)}).ok());
    EXPECT_TRUE(warmup.Wait());
    std::vector<ClientRequest> out;
    for (auto& o : outcomes) {
      conn_->Submit(EchoRequest(), o.Callback());
      out.push_back(NextSingle());
    }
    return out;
  }
};

// [MS-SMB2] 3.2.5.1.9: three responses in one message complete three separate requests.
TEST_F(CompoundSim, ThreeResponsesInOneMessageCompleteThreeRequests) {
  StartConnection();
  Outcome outcomes[3];
  auto reqs = ThreeOutstanding(outcomes);
  ASSERT_EQ(reqs.size(), 3u);
  // Answered in reverse order, all in one transport message.
  ASSERT_TRUE(server_->Reply({EchoResponse(reqs[2].header), EchoResponse(reqs[0].header),
                              EchoResponse(reqs[1].header)})
                  .ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(outcomes[i].Wait());
    ASSERT_TRUE(outcomes[i].result().ok()) << outcomes[i].status().ToString();
    EXPECT_EQ(outcomes[i].result()->header.message_id, reqs[i].header.message_id);
    EXPECT_EQ(outcomes[i].calls(), 1);
  }
  EXPECT_TRUE(conn_->connected());
}

// [MS-SMB2] 3.2.4.1.4: a compound request goes out as one message with 8-byte aligned elements and
// consecutive MessageIds; a compound response completes it with one callback.
TEST_F(CompoundSim, CompoundRequestAndResponse) {
  StartConnection();
  Outcome warmup;
  conn_->Submit(EchoRequest(), warmup.Callback());
  ClientRequest w = NextSingle();
  ResponseOptions grant;
  grant.credits = 8;
  ASSERT_TRUE(server_->Reply({EchoResponse(w.header, grant)}).ok());
  ASSERT_TRUE(warmup.Wait());

  CompoundOutcome chain;
  std::vector<Request> requests;
  requests.push_back(ReadRequest(10, 1));
  requests.push_back(EchoRequest());
  requests.push_back(ReadRequest(20, 2));
  conn_->SubmitCompound(std::move(requests), true, chain.Callback());
  auto m = server_->Next();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->requests.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m->requests[i].header.message_id, 1u + i);
    EXPECT_EQ((m->requests[i].header.flags & smb2::SMB2_FLAGS_RELATED_OPERATIONS) != 0, i > 0);
    if (i < 2) {
      EXPECT_EQ(m->requests[i].header.next_command % 8, 0u);
      EXPECT_EQ(m->requests[i].header.next_command, m->requests[i].bytes.size());
    }
  }
  uint8_t one[1] = {1}, two[2] = {2, 2};
  ASSERT_TRUE(server_->Reply({ReadResponse(m->requests[0].header, one),
                              EchoResponse(m->requests[1].header),
                              ReadResponse(m->requests[2].header, two)})
                  .ok());
  ASSERT_TRUE(chain.Wait());
  auto results = chain.results();
  ASSERT_EQ(results.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(results[i]->header.message_id, 1u + i);
  }
  EXPECT_EQ(chain.calls(), 1);
}

// [MS-SMB2] 3.2.5.1.9: a NextCommand that is not 8-byte aligned makes the message malformed: the
// connection drops and every request fails with kProtocol.
TEST_F(CompoundSim, MisalignedNextCommandDropsTheConnection) {
  StartConnection();
  Outcome outcomes[3];
  auto reqs = ThreeOutstanding(outcomes);
  auto bytes = Compound({EchoResponse(reqs[0].header), EchoResponse(reqs[1].header),
                         EchoResponse(reqs[2].header)});
  StoreU32(&bytes[smb2::kOffsetNextCommand], 68);  // the true, unpadded length: misaligned
  server_->Raw(bytes);
  for (auto& o : outcomes) {
    ASSERT_TRUE(o.Wait());
    EXPECT_TRUE(o.status().Is(Code::kProtocol)) << o.status().ToString();
    EXPECT_EQ(o.calls(), 1);
  }
  ExpectDroppedWith(Code::kProtocol);
}

TEST_F(CompoundSim, NextCommandPastTheEndDropsTheConnection) {
  StartConnection();
  Outcome outcomes[3];
  auto reqs = ThreeOutstanding(outcomes);
  auto bytes = Compound({EchoResponse(reqs[0].header), EchoResponse(reqs[1].header)});
  StoreU32(&bytes[72 + smb2::kOffsetNextCommand], 4096);  // the second points far beyond the end
  server_->Raw(bytes);
  for (auto& o : outcomes) {
    ASSERT_TRUE(o.Wait());
    EXPECT_TRUE(o.status().Is(Code::kProtocol)) << o.status().ToString();
    EXPECT_EQ(o.calls(), 1);
  }
  ExpectDroppedWith(Code::kProtocol);
}

// --- timeouts and keepalive ([MS-SMB2] 3.2.6.1) -----------------------------------------------

TEST_F(ConnectionSim, UnansweredRequestTimesOutAndClosesTheConnection) {
  auto options = DefaultOptions();
  options.request_timeout = std::chrono::milliseconds(500);
  StartConnection(options);
  const auto before = Clock::now();
  Outcome echo;
  conn_->Submit(EchoRequest(), echo.Callback());
  (void)NextSingle();
  wire_->Tick(before);  // not yet expired
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(echo.calls(), 0);
  EXPECT_TRUE(conn_->connected());

  wire_->Tick(Clock::now() + options.request_timeout + std::chrono::milliseconds(1));
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.status().Is(Code::kTimeout)) << echo.status().ToString();
  EXPECT_EQ(echo.calls(), 1);
  ExpectDroppedWith(Code::kTimeout);
}

// An interim response extends the request's lifetime: a tick after the original deadline does
// not expire it.
TEST_F(ConnectionSim, InterimResponseExtendsTheDeadline) {
  auto options = DefaultOptions();
  options.request_timeout = std::chrono::milliseconds(1000);
  StartConnection(options);
  Outcome read;
  conn_->Submit(ReadRequest(10, 0), read.Callback());
  ClientRequest r = NextSingle();
  ASSERT_TRUE(server_->Reply({InterimResponse(r.header, 9)}).ok());
  ASSERT_TRUE(wire_->WaitIdle());
  wire_->Tick(Clock::now() + 2 * options.request_timeout);
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(read.calls(), 0);
  EXPECT_TRUE(conn_->connected());
  ResponseOptions final_options;
  final_options.async_id = 9;
  ASSERT_TRUE(server_->Reply({ReadResponse(r.header, {}, final_options)}).ok());
  ASSERT_TRUE(read.Wait());
  EXPECT_TRUE(read.result().ok());
}

// Keepalive: an idle connection sends ECHO after echo_interval, and an unanswered ECHO for two
// intervals closes it with kTimeout.
TEST_F(ConnectionSim, IdleConnectionSendsEchoAndDiesWhenUnanswered) {
  auto options = DefaultOptions();
  options.echo_interval = std::chrono::seconds(60);
  options.request_timeout = std::chrono::hours(1);  // the echo's own deadline is not what fires
  StartConnection(options);
  const auto t0 = Clock::now();
  wire_->Tick(t0 + std::chrono::seconds(30));
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(wire_->sent_count(), 0u);

  wire_->Tick(t0 + std::chrono::seconds(61));
  ClientRequest echo = NextSingle();
  EXPECT_EQ(echo.header.command, smb2::SMB2_ECHO);
  wire_->Tick(t0 + std::chrono::seconds(90));  // still outstanding: no second echo
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(wire_->sent_count(), 1u);
  EXPECT_TRUE(conn_->connected());

  wire_->Tick(t0 + std::chrono::seconds(121));
  ExpectDroppedWith(Code::kTimeout);
}

// An answered keepalive keeps the connection, and the next idle interval sends another.
TEST_F(ConnectionSim, AnsweredEchoKeepsTheConnection) {
  auto options = DefaultOptions();
  options.echo_interval = std::chrono::seconds(60);
  options.request_timeout = std::chrono::hours(1);
  StartConnection(options);
  const auto t0 = Clock::now();
  wire_->Tick(t0 + std::chrono::seconds(61));
  ClientRequest echo = NextSingle();
  ASSERT_TRUE(server_->Reply({EchoResponse(echo.header)}).ok());
  ASSERT_TRUE(wire_->WaitIdle());
  wire_->Tick(t0 + std::chrono::seconds(130));
  ClientRequest second = NextSingle();
  EXPECT_EQ(second.header.command, smb2::SMB2_ECHO);
  EXPECT_EQ(second.header.message_id, 1u);
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_TRUE(conn_->connected());
}

// --- send failures and closing -------------------------------------------------------------------

// A failing Send fails that request and closes the connection, failing what else is pending.
TEST_F(ConnectionSim, FailingSendFailsTheRequestAndClosesTheConnection) {
  StartConnection();
  Outcome first, second;
  conn_->Submit(EchoRequest(), first.Callback());
  ClientRequest r0 = NextSingle();
  ResponseOptions grant;
  grant.credits = 4;
  // Keep the first pending; grant credits through an interim response.
  ASSERT_TRUE(server_->Reply({InterimResponse(r0.header, 1, 4)}).ok());
  ASSERT_TRUE(wire_->WaitIdle());
  wire_->FailSend(2, Status(Code::kDisconnected, 32 /* EPIPE */, "test: injected send failure"));
  conn_->Submit(EchoRequest(), second.Callback());
  ASSERT_TRUE(second.Wait());
  ASSERT_TRUE(first.Wait());
  EXPECT_TRUE(second.status().Is(Code::kDisconnected)) << second.status().ToString();
  EXPECT_TRUE(first.status().Is(Code::kDisconnected)) << first.status().ToString();
  EXPECT_EQ(first.calls(), 1);
  EXPECT_EQ(second.calls(), 1);
  ExpectDroppedWith(Code::kDisconnected);
  EXPECT_EQ(wire_->sent_count(), 1u);

  Outcome late;
  conn_->Submit(EchoRequest(), late.Callback());
  ASSERT_TRUE(late.Wait(std::chrono::milliseconds(0)));  // failed inline
  EXPECT_TRUE(late.status().Is(Code::kDisconnected));
}

// Fault sweep: the Nth send fails, for every N of a five-request exchange. Every callback runs
// exactly once; requests before N succeed, N and later fail with kDisconnected.
TEST_F(ConnectionSim, FaultSweepOverSends) {
  for (size_t n = 1; n <= 5; ++n) {
    SCOPED_TRACE(n);
    StartConnection();
    wire_->FailSend(n, Status(Code::kDisconnected, 0, "test: injected"));
    Outcome outcomes[5];
    for (size_t i = 0; i < 5; ++i) {
      conn_->Submit(EchoRequest(), outcomes[i].Callback());
      if (i + 1 < n) {
        ClientRequest r = NextSingle();
        ASSERT_TRUE(server_->Reply({EchoResponse(r.header)}).ok());
        ASSERT_TRUE(outcomes[i].Wait());
      }
    }
    for (size_t i = 0; i < 5; ++i) {
      ASSERT_TRUE(outcomes[i].Wait());
      EXPECT_EQ(outcomes[i].calls(), 1);
      if (i + 1 < n) EXPECT_TRUE(outcomes[i].result().ok()) << i;
      else EXPECT_TRUE(outcomes[i].status().Is(Code::kDisconnected)) << i;
    }
    ExpectDroppedWith(Code::kDisconnected);
    TearDown();
  }
}

// The server hangs up: everything pending fails with kDisconnected, exactly once, and later
// submissions fail at once.
TEST_F(ConnectionSim, ServerCloseFailsAllPending) {
  StartConnection();
  Outcome first;
  conn_->Submit(EchoRequest(), first.Callback());
  ClientRequest r0 = NextSingle();
  ASSERT_TRUE(server_->Reply({InterimResponse(r0.header, 1, 3)}).ok());
  ASSERT_TRUE(wire_->WaitIdle());
  Outcome more[3];
  for (auto& o : more) conn_->Submit(EchoRequest(), o.Callback());
  ASSERT_TRUE(wire_->WaitForSent(4));
  wire_->CloseFromServer(Status(Code::kDisconnected, 0, "test: server closed"));
  ASSERT_TRUE(first.Wait());
  EXPECT_TRUE(first.status().Is(Code::kDisconnected));
  for (auto& o : more) {
    ASSERT_TRUE(o.Wait());
    EXPECT_TRUE(o.status().Is(Code::kDisconnected)) << o.status().ToString();
    EXPECT_EQ(o.calls(), 1);
  }
  EXPECT_EQ(first.calls(), 1);
  ExpectDroppedWith(Code::kDisconnected);

  Outcome late;
  conn_->Submit(EchoRequest(), late.Callback());
  ASSERT_TRUE(late.Wait(std::chrono::milliseconds(0)));
  EXPECT_TRUE(late.status().Is(Code::kDisconnected));
  EXPECT_EQ(late.calls(), 1);
}

// Close() is idempotent, also when called from several threads at once; OnClosed runs once and
// the first reason is kept.
TEST_F(ConnectionSim, CloseIsIdempotent) {
  StartConnection();
  Outcome echo;
  conn_->Submit(EchoRequest(), echo.Callback());
  (void)NextSingle();
  std::vector<std::thread> closers;
  for (int i = 0; i < 4; ++i) {
    closers.emplace_back([&] { conn_->Close(Status(Code::kCancelled, 0, "test: closed by caller")); });
  }
  for (auto& t : closers) t.join();
  conn_->Close(Status(Code::kProtocol, 0, "test: second reason"));
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.status().Is(Code::kDisconnected)) << echo.status().ToString();
  EXPECT_EQ(echo.calls(), 1);
  EXPECT_TRUE(conn_->close_reason().Is(Code::kCancelled));
  EXPECT_EQ(wire_->on_closed_calls(), 1);
  EXPECT_FALSE(conn_->connected());
}

// A callback may close the connection (on the receive thread): the other pending requests fail
// once, with kDisconnected, after the callback returns.
TEST_F(ConnectionSim, CloseFromACallback) {
  StartConnection();
  Outcome first, second;
  conn_->Submit(EchoRequest(), [&](Result<Response> r) {
    conn_->Close(Status(Code::kCancelled, 0, "test: closed from a callback"));
    first.Callback()(std::move(r));
  });
  ClientRequest r0 = NextSingle();
  ASSERT_TRUE(server_->Reply({InterimResponse(r0.header, 3, 2)}).ok());
  ASSERT_TRUE(wire_->WaitIdle());
  conn_->Submit(EchoRequest(), second.Callback());
  (void)NextSingle();
  ResponseOptions final_options;
  final_options.async_id = 3;
  ASSERT_TRUE(server_->Reply({EchoResponse(r0.header, final_options)}).ok());
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(first.result().ok());
  EXPECT_TRUE(second.status().Is(Code::kDisconnected)) << second.status().ToString();
  ASSERT_TRUE(wire_->WaitClosed());
  EXPECT_EQ(first.calls(), 1);
  EXPECT_EQ(second.calls(), 1);
  EXPECT_EQ(wire_->on_closed_calls(), 1);
}

// A response arriving after the connection was closed reaches nobody (the transport delivers no
// more) and the callback already ran.
TEST_F(ConnectionSim, ResponseAfterCloseIsDropped) {
  StartConnection();
  Outcome echo;
  conn_->Submit(EchoRequest(), echo.Callback());
  ClientRequest r = NextSingle();
  conn_->Close(Status(Code::kCancelled, 0, "test"));
  server_->Raw(EchoResponse(r.header));
  ASSERT_TRUE(echo.Wait());
  EXPECT_EQ(echo.calls(), 1);
  EXPECT_FALSE(echo.result().ok());
  EXPECT_EQ(wire_->dropped_events(), 1u);
}

}  // namespace
}  // namespace smb3::test
