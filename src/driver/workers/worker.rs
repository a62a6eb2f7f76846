//! One driver thread: the loops of its clients, their turns, and one epoll over all of them.
//!
//! A round: take new clients; run one turn of every loop that is ready (woken, a descriptor
//! ready, a deadline passed, or work left from its last turn); then sleep until the next
//! wake-up, or only look when some loop has work left, so that a loop with work left goes
//! again after every other ready loop had its turn.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::os::unix::io::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::super::epoll::{Epoll, Event};
use super::super::event_loop::{Loop, Next};
use super::super::poll::Interest;
use super::super::shared::Ended;
use super::super::socket_io;
use super::{abandon, leave, Bell, Handle};

thread_local! {
    pub(super) static ON_DRIVER: Cell<bool> = const { Cell::new(false) };
}

/// The key of the thread's own waker (new clients).
const OWN_WAKER: u64 = u64::MAX;

pub(super) struct Worker {
    handle: Arc<Handle>,
    epoll: Epoll,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Loops to run this round, each once.
    ready: VecDeque<usize>,
    /// Loops whose last turn left work (a flood): they go again after every loop woken
    /// meanwhile.
    again: Vec<usize>,
    /// Deadlines: (when, slot, the slot's timer generation); stale entries are skipped.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    events: Vec<Event>,
    /// Loops with work in flight after their last turn (see `Loop::busy`).
    busy: usize,
    /// The latest turn (slot, when), and the latest of a slot other than that one: whether a
    /// neighbour ran lately.
    latest: Option<(usize, Instant)>,
    latest_other: Option<(usize, Instant)>,
    /// When the current round began (what `latest` records: no clock read per turn).
    round: Instant,
}

/// A neighbour that ran this recently is likely to need a turn again soon (a quiet client
/// between two commands): a flood's turn then takes the smaller share.
const NEIGHBOUR_RECENT: std::time::Duration = std::time::Duration::from_millis(20);

struct Slot {
    lp: Loop,
    /// What is registered with epoll for it (besides its waker).
    registered: Vec<(RawFd, Interest)>,
    queued: bool,
    /// Its socket reported a hang-up since its last turn.
    hangup: bool,
    /// Bumped whenever its deadline changes.
    timer: u64,
    /// Counted in the worker's `busy`.
    busy: bool,
    deadline: Option<Instant>,
}

/// An epoll key: the descriptor in the high half, the slot in the low one.
fn key(fd: RawFd, slot: usize) -> u64 {
    (u64::from(fd as u32) << 32) | slot as u64
}

/// The epoll of a new driver thread, watching the thread's own waker.
pub(super) fn watching(handle: &Handle) -> std::io::Result<Epoll> {
    let epoll = Epoll::new()?;
    let read = Interest {
        read: true,
        ..Interest::default()
    };
    epoll.set(handle.waker.fd(), read, OWN_WAKER, false)?;
    Ok(epoll)
}

impl Worker {
    pub(super) fn new(handle: Arc<Handle>, epoll: Epoll) -> Worker {
        Worker {
            handle,
            epoll,
            slots: Vec::new(),
            free: Vec::new(),
            ready: VecDeque::new(),
            again: Vec::new(),
            timers: BinaryHeap::new(),
            events: Vec::new(),
            busy: 0,
            latest: None,
            latest_other: None,
            round: Instant::now(),
        }
    }

    /// Runs the thread until its last client is gone. A panic outside the clients' turns
    /// (which are caught one by one) would leave its clients waiting for ever: the thread
    /// then ends every one of them as a panicked loop, and leaves the pool.
    pub(super) fn serve(mut self) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.run())) {
            // The first client gets the panic itself (raised again where it is freed, in debug
            // builds); the others, and those not taken yet, a note of it.
            let mut payload = Some(panic);
            let broke = |payload: &mut Option<Box<dyn std::any::Any + Send>>| Ended {
                panic: payload
                    .take()
                    .or_else(|| Some(Box::new("a driver thread broke"))),
                thread: None,
            };
            for slot in std::mem::take(&mut self.slots).into_iter().flatten() {
                let shared = Arc::clone(slot.lp.shared());
                drop_suspect(slot.lp);
                shared.end(broke(&mut payload));
            }
            for (shared, _) in abandon(&self.handle) {
                shared.end(broke(&mut payload));
            }
        }
    }

    fn run(&mut self) {
        ON_DRIVER.with(|d| d.set(true));
        loop {
            self.take_new();
            self.ready.extend(self.again.drain(..));
            let round = self.ready.len();
            for _ in 0..round {
                let Some(index) = self.ready.pop_front() else {
                    break;
                };
                if self.turn(index) {
                    // The last client went, and the thread left the pool.
                    return;
                }
            }
            let deadline = if self.ready.is_empty() && self.again.is_empty() {
                self.timers.peek().map(|Reverse((at, _, _))| *at)
            } else {
                Some(self.round) // past: a look without waiting
            };
            let mut events = std::mem::take(&mut self.events);
            if self.epoll.wait(deadline, &mut events).is_err() {
                // Nothing sensible is left to do but try again; a broken epoll would spin, so
                // pause a little.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            for event in &events {
                self.deliver(*event);
            }
            self.events = events;
            self.round = Instant::now();
            self.expire_timers(self.round);
        }
    }

    /// Takes the clients handed to this thread, and the doorbells that rang.
    fn take_new(&mut self) {
        self.handle.waker.drain();
        let rung = std::mem::take(&mut *self.handle.rung.lock().unwrap_or_else(|e| e.into_inner()));
        for index in rung {
            // A slot freed since (or taken by a new client) gets at most one turn too many.
            if index < self.slots.len() {
                self.make_ready(index);
            }
        }
        let new = std::mem::take(&mut *self.handle.inbox.lock().unwrap_or_else(|e| e.into_inner()));
        for (shared, config) in new {
            let index = match self.free.pop() {
                Some(index) => index,
                None => {
                    self.slots.push(None);
                    self.slots.len() - 1
                }
            };
            shared.doorbell.hang(Bell {
                handle: Arc::clone(&self.handle),
                slot: index,
            });
            let lp = Loop::new(shared, config);
            self.slots[index] = Some(Slot {
                lp,
                registered: Vec::new(),
                queued: false,
                hangup: false,
                timer: 0,
                busy: false,
                deadline: None,
            });
            self.make_ready(index);
        }
    }

    fn make_ready(&mut self, index: usize) {
        if let Some(slot) = self.slots[index].as_mut() {
            if !slot.queued {
                slot.queued = true;
                self.ready.push_back(index);
            }
        }
    }

    fn deliver(&mut self, event: Event) {
        if event.key == OWN_WAKER {
            return;
        }
        let index = (event.key & u64::from(u32::MAX)) as usize;
        let fd = (event.key >> 32) as u32 as RawFd;
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if event.hangup && slot.lp.socket_fd() == Some(fd) {
            slot.hangup = true;
        }
        self.make_ready(index);
    }

    fn expire_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, index, timer))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let current = self.slots[index]
                .as_ref()
                .is_some_and(|s| s.timer == timer && s.deadline.is_some());
            if current {
                self.make_ready(index);
            }
        }
    }

    /// Runs one turn of the loop in `index`. True when the loop ended and the thread, left
    /// without clients, leaves the pool.
    fn turn(&mut self, index: usize) -> bool {
        let Some(slot) = self.slots[index].as_mut() else {
            return false;
        };
        slot.queued = false;
        let hangup = std::mem::take(&mut slot.hangup);
        // Others wait this round, have work in flight, or ran lately: the turn takes the
        // smaller share.
        let now = self.round;
        let other = match self.latest {
            Some((i, at)) if i != index => Some(at),
            _ => self.latest_other.map(|(_, at)| at),
        };
        let crowded = !self.ready.is_empty()
            || !self.again.is_empty()
            || self.busy > usize::from(slot.busy)
            || other.is_some_and(|at| now.saturating_duration_since(at) < NEIGHBOUR_RECENT);
        match self.latest {
            Some((i, _)) if i == index => self.latest = Some((index, now)),
            before => {
                self.latest_other = before;
                self.latest = Some((index, now));
            }
        }
        let next = catch_unwind(AssertUnwindSafe(|| slot.lp.step(hangup, crowded)));
        let busy = matches!(next, Ok(Next::Again)) || slot.lp.busy();
        if busy != slot.busy {
            slot.busy = busy;
            if busy {
                self.busy += 1;
            } else {
                self.busy -= 1;
            }
        }
        match next {
            Ok(Next::Again) => {
                if let Some(slot) = self.slots[index].as_mut() {
                    // A loop that goes again at once watches nothing: so a descriptor it closed
                    // in this turn (a dropped connection) leaves the set now, before its number
                    // can come back as another client's socket in this epoll.
                    for &(fd, _) in &slot.registered {
                        self.epoll.remove(fd);
                    }
                    slot.registered.clear();
                    slot.queued = true;
                    self.again.push(index);
                }
                if crowded {
                    std::thread::yield_now();
                }
                false
            }
            Ok(Next::Sleep(deadline)) => {
                self.watch(index, deadline);
                false
            }
            Ok(Next::Done) => self.remove(index, None),
            Err(panic) => {
                socket_io::forget();
                self.remove(index, Some(panic))
            }
        }
    }

    /// Registers what the loop sleeps on, and its deadline. Called right after the turn, so
    /// that a descriptor the loop closed during it (it no longer wants it) is removed before
    /// any other loop of this thread can register the same number.
    fn watch(&mut self, index: usize, deadline: Option<Instant>) {
        let Some(slot) = self.slots[index].as_mut() else {
            return;
        };
        let wanted = slot.lp.watched();
        for &(fd, _) in &slot.registered {
            if !wanted.iter().any(|&(w, _)| w == fd) {
                self.epoll.remove(fd);
            }
        }
        for &(fd, interest) in wanted {
            let before = slot.registered.iter().find(|&&(r, _)| r == fd);
            let same = before.is_some_and(|&(_, i)| {
                i.read == interest.read && i.write == interest.write && i.hangup == interest.hangup
            });
            if !same {
                // A descriptor that cannot be watched leaves the loop to its waker and deadline.
                let _ = self
                    .epoll
                    .set(fd, interest, key(fd, index), before.is_some());
            }
        }
        slot.registered.clear();
        slot.registered.extend_from_slice(wanted);
        if slot.deadline != deadline {
            slot.deadline = deadline;
            slot.timer += 1;
            if let Some(at) = deadline {
                self.timers.push(Reverse((at, index, slot.timer)));
            }
        }
        // A busy client changes its deadline every turn, and stale entries leave the heap only
        // when they come due: past a bound, it is rebuilt from the live deadlines.
        if self.timers.len() > 2 * self.slots.len() + 1024 {
            let live = self.slots.iter().enumerate().filter_map(|(i, s)| {
                let s = s.as_ref()?;
                Some(Reverse((s.deadline?, i, s.timer)))
            });
            self.timers = live.collect();
        }
    }

    /// Drops an ended loop and tells its client. When it was the last, the thread leaves the
    /// pool (unless a client arrived meanwhile) and hands its join handle to that client: true.
    fn remove(&mut self, index: usize, panic: Option<Box<dyn std::any::Any + Send>>) -> bool {
        let Some(slot) = self.slots[index].take() else {
            return false;
        };
        self.free.push(index);
        if slot.busy {
            self.busy -= 1;
        }
        for &(fd, _) in &slot.registered {
            self.epoll.remove(fd);
        }
        let shared = Arc::clone(slot.lp.shared());
        if panic.is_some() {
            drop_suspect(slot.lp);
        } else {
            drop(slot.lp);
        }
        self.handle.clients.fetch_sub(1, Ordering::Relaxed);
        let thread = if self.slots.iter().all(Option::is_none)
            && self.ready.is_empty()
            && self.again.is_empty()
        {
            leave(&self.handle)
        } else {
            None
        };
        let leaving = thread.is_some();
        shared.end(Ended { panic, thread });
        leaving
    }
}

/// Drops a loop whose turn panicked: its state is suspect, so its connection goes without a
/// word, and a drop that panics again leaves it behind rather than take the thread down.
fn drop_suspect(lp: Loop) {
    if catch_unwind(AssertUnwindSafe(|| socket_io::letting_go(|| drop(lp)))).is_err() {
        socket_io::forget();
    }
}
