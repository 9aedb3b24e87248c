// Tandem console: a plain supabase-js page served by the devstack gateway.
// window.TANDEM = { supabaseUrl, anonKey } comes from /console/config.js.
// It talks to Supabase as an app would: tables and RPCs through the Data API (`from()`,
// `rpc()`: PostgREST, or the local Data API of `npm run dev`), and the edge functions only
// for what they add — the Redis-cached project listing (`GET projects`) and job submission
// (`POST jobs`: catalog validation, rate limit, enqueue).
/* global supabase */
(() => {
  'use strict';

  const client = supabase.createClient(window.TANDEM.supabaseUrl, window.TANDEM.anonKey, {
    auth: { persistSession: true, storageKey: 'tandem-console-auth' },
  });

  const $ = (selector) => document.querySelector(selector);
  const state = { user: null, profileName: '', avatarUrl: null, members: new Map(), projects: [], current: null, channel: null, events: null, jobs: new Map() };

  function showError(error) {
    const message = error?.context?.message ?? error?.message ?? String(error ?? '');
    $('#error').textContent = message;
    if (message) setTimeout(() => { if ($('#error').textContent === message) $('#error').textContent = ''; }, 6000);
  }

  /**
   * Awaits a supabase-js Data API call and returns its data, throwing PostgREST's error
   * (`{code, message, details, hint}`) as one readable message: the message, then the
   * details and hint when PostgREST gives them.
   */
  async function rest(query) {
    const { data, error } = await query;
    if (error) {
      const parts = [error.message || `request failed (${error.code ?? 'no code'})`];
      if (error.details) parts.push(typeof error.details === 'string' ? error.details : JSON.stringify(error.details));
      if (error.hint) parts.push(`Hint: ${error.hint}`);
      const failure = new Error(parts.join(' — '));
      failure.code = error.code;
      throw failure;
    }
    return data;
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Calls an edge function and returns its JSON body, throwing the API's error message. */
  async function api(path, { method = 'GET', body } = {}) {
    const { data, error } = await client.functions.invoke(path, { method, body });
    if (error) {
      let message = error.message;
      try {
        const payload = await error.context.json();
        message = payload?.error?.message ?? message;
      } catch { /* not JSON */ }
      throw new Error(message);
    }
    return data;
  }

  function colorFor(id) {
    let hash = 0;
    for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return `hsl(${hash % 360} 55% 45%)`;
  }

  const isHttpUrl = (value) => typeof value === 'string' && /^https?:\/\//i.test(value);

  /** An avatar: the picture when the profile has an http(s) URL, else the initial on a colour. */
  function avatarFor(userId, name, url) {
    const avatar = document.createElement('div');
    avatar.className = 'avatar';
    avatar.title = name || '';
    avatar.dataset.userId = userId;
    avatar.style.background = colorFor(userId);
    if (isHttpUrl(url)) {
      const img = document.createElement('img');
      img.src = url;
      img.alt = name || '';
      img.referrerPolicy = 'no-referrer';
      avatar.append(img);
    } else {
      avatar.textContent = (name || '?').slice(0, 1).toUpperCase();
    }
    return avatar;
  }

  function logEvent(text) {
    const item = document.createElement('li');
    item.textContent = `${new Date().toLocaleTimeString()} — ${text}`;
    $('#events').prepend(item);
  }

  // Section: invitation links
  // The mail's link is <site>/#/invitations/accept?token=…: the token stays in the fragment
  // (never sent to a server), is kept for this tab until the invitee is signed in, and
  // leaves the address bar at once.

  const LINK_TOKEN_KEY = 'tandem-invitation-token';
  function takeLinkToken() {
    const match = /^#\/invitations\/accept\?(.*)$/.exec(location.hash);
    if (!match) return;
    const token = new URLSearchParams(match[1]).get('token');
    history.replaceState(null, '', location.pathname + location.search);
    if (token) sessionStorage.setItem(LINK_TOKEN_KEY, token);
    $('#pending-link').hidden = !token;
  }
  takeLinkToken();
  window.addEventListener('hashchange', () => {
    takeLinkToken();
    if (state.user) acceptLinkToken().catch(showError);
  });

  async function acceptLinkToken() {
    const token = sessionStorage.getItem(LINK_TOKEN_KEY);
    if (!token) return;
    sessionStorage.removeItem(LINK_TOKEN_KEY);
    $('#pending-link').hidden = true;
    try {
      await joined(await rest(client.rpc('accept_invitation', { token })));
    } catch (error) {
      $('#invitation-notice').textContent = `The invitation link could not be used: ${error.message}`;
      await Promise.all([loadProjects(), loadInvitations()]);
      throw error;
    }
  }

  /**
   * After an accept RPC (which returns the project id): says which project was joined and
   * with what role, read through the Data API, and refreshes both lists.
   */
  async function joined(projectId) {
    const project = await rest(client.from('projects')
      .select('name, project_members(role)')
      .eq('id', projectId)
      .eq('project_members.user_id', state.user.id)
      .single());
    $('#invitation-notice').textContent = `You joined ${project.name} as ${project.project_members[0]?.role ?? 'member'}.`;
    await Promise.all([loadProjects({ until: projectId }), loadInvitations()]);
  }

  // Section: auth

  $('#auth-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const email = form.get('email');
    const password = form.get('password');
    const action = event.submitter?.value ?? 'sign-in';
    const result = action === 'sign-up'
      ? await client.auth.signUp({ email, password, options: { data: { display_name: form.get('display_name') || undefined } } })
      : await client.auth.signInWithPassword({ email, password });
    if (result.error) showError(result.error);
  });

  $('#sign-out').addEventListener('click', () => client.auth.signOut());

  client.auth.onAuthStateChange((_event, session) => {
    const user = session?.user ?? null;
    if (user?.id === state.user?.id) return;
    state.user = user;
    setTimeout(() => (user ? enterApp(user) : leaveApp()), 0);
  });

  async function enterApp(user) {
    state.profileName = user.user_metadata?.display_name ?? user.email.split('@')[0];
    state.avatarUrl = user.user_metadata?.avatar_url ?? null;
    $('#whoami').textContent = `${state.profileName} (${user.email})`;
    $('#auth-panel').hidden = true;
    $('#app-panel').hidden = false;
    $('#sign-out').hidden = false;
    await Promise.all([loadProjects(), loadInvitations(), loadProfile()]).catch(showError);
    await acceptLinkToken().catch(showError);
  }

  // Section: profile (public.profiles is the source of truth, updated under RLS; a trigger
  // copies the change to Auth's user metadata — supabase/migrations/20261202002100_…)

  async function loadProfile() {
    const data = await rest(client.from('profiles').select('display_name, avatar_url').eq('id', state.user.id).maybeSingle());
    if (data) {
      state.profileName = data.display_name ?? state.profileName;
      state.avatarUrl = data.avatar_url;
    }
    const form = $('#profile');
    form.elements.display_name.value = state.profileName ?? '';
    form.elements.avatar_url.value = state.avatarUrl ?? '';
    $('#whoami').textContent = `${state.profileName} (${state.user.email})`;
  }

  $('#profile').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const displayName = String(form.get('display_name') ?? '').trim();
    const avatarUrl = String(form.get('avatar_url') ?? '').trim();
    try {
      // An empty avatar field clears it (the column takes only http(s) URLs or null).
      // single(): a row RLS hides would be PGRST116 rather than a silent no-op.
      await rest(client.from('profiles')
        .update({ display_name: displayName, avatar_url: avatarUrl || null })
        .eq('id', state.user.id)
        .select('id')
        .single());
      await loadProfile();
      if (state.channel) await trackPresence(state.channel);
      if (state.current) await loadMembers(state.current.id);
    } catch (loadError) { showError(loadError); }
  });

  async function leaveApp() {
    await closeWorkspace();
    $('#whoami').textContent = '';
    $('#auth-panel').hidden = false;
    $('#app-panel').hidden = true;
    $('#sign-out').hidden = true;
  }

  // Section: projects and invitations

  /**
   * The project list from the cached listing function. After a Data API write that changes
   * it (create, accept), the worker drops the cached copy when Postgres NOTIFYs
   * `tandem_cache` (worker/src/invalidator.ts), a moment after the write's response: with
   * `until`, the listing is read again, briefly, until it shows that project.
   */
  async function loadProjects({ until } = {}) {
    let { data } = await api('projects');
    for (let attempt = 0; until && attempt < 10 && !data.some((project) => project.id === until); attempt += 1) {
      await pause(150 * (attempt + 1));
      ({ data } = await api('projects'));
    }
    state.projects = data;
    const list = $('#projects');
    list.replaceChildren(...data.map((project) => {
      const item = document.createElement('li');
      item.dataset.projectId = project.id;
      item.className = project.id === state.current?.id ? 'selected' : '';
      item.innerHTML = '<span></span><span class="badge"></span>';
      item.firstChild.textContent = `${project.name} · ${project.member_count} member${project.member_count === 1 ? '' : 's'}`;
      item.lastChild.textContent = project.role;
      item.addEventListener('click', () => openWorkspace(project).catch(showError));
      return item;
    }));
  }

  async function loadInvitations() {
    const data = await rest(client.rpc('my_invitations'));
    $('#my-invitations').replaceChildren(...data.map((invitation) => {
      const item = document.createElement('li');
      item.className = 'row';
      item.dataset.invitationId = invitation.id;
      const text = document.createElement('span');
      text.textContent = `${invitation.project_name} as ${invitation.role} (expires ${new Date(invitation.expires_at).toLocaleDateString()})`;
      const accept = document.createElement('button');
      accept.type = 'button';
      accept.textContent = 'Accept';
      // Accepting from the list needs a confirmed email; the mailed link works regardless.
      accept.addEventListener('click', async () => {
        try {
          await joined(await rest(client.rpc('accept_invitation_from_list', { invitation_id: invitation.id })));
        } catch (error) { showError(error); }
      });
      item.append(text, accept);
      return item;
    }));
  }

  /**
   * Members with their profiles: two Data API reads, because project_members.user_id
   * references auth.users, not profiles, so there is no relationship to embed. RLS shows
   * members of the caller's projects and their co-members' profiles.
   */
  async function loadMembers(projectId) {
    const rows = await rest(client.from('project_members')
      .select('user_id, role, created_at')
      .eq('project_id', projectId)
      .order('created_at')
      .order('user_id'));
    const ids = rows.map((row) => row.user_id);
    const profiles = ids.length === 0 ? [] : await rest(client.from('profiles').select('id, display_name, avatar_url, email').in('id', ids));
    const byId = new Map(profiles.map((profile) => [profile.id, profile]));
    const data = rows.map((row) => {
      const profile = byId.get(row.user_id);
      return { ...row, display_name: profile?.display_name ?? null, avatar_url: profile?.avatar_url ?? null, email: profile?.email ?? null };
    });
    if (state.current?.id !== projectId) return;
    state.members = new Map(data.map((member) => [member.user_id, member]));
    renderOnline();
    $('#members').replaceChildren(...data.map((member) => {
      const item = document.createElement('li');
      item.className = 'row';
      item.dataset.userId = member.user_id;
      const name = document.createElement('span');
      name.className = 'member-name';
      name.textContent = member.display_name || member.email || member.user_id;
      const role = document.createElement('span');
      role.className = 'badge';
      role.textContent = member.role;
      item.append(avatarFor(member.user_id, member.display_name, member.avatar_url), name, role);
      return item;
    }));
  }

  /** The project's pending invitations with their mail status (RLS: owners only). */
  async function loadProjectInvitations(projectId) {
    const data = await rest(client.from('project_invitations')
      .select('id, email, role, expires_at, mailed_at, mail_attempts, last_mail_error')
      .eq('project_id', projectId)
      .is('accepted_at', null)
      .is('revoked_at', null)
      .gt('expires_at', new Date().toISOString())
      .order('created_at', { ascending: false }));
    if (state.current?.id !== projectId) return;
    $('#project-invitations').replaceChildren(...data.map((row) => {
      const item = document.createElement('li');
      item.dataset.invitationId = row.id;
      const mail = row.mailed_at ? 'mailed' : row.last_mail_error ? `mail failed (${row.mail_attempts}×): ${row.last_mail_error}` : 'mail queued';
      item.className = 'row';
      const text = document.createElement('span');
      text.textContent = `${row.email} as ${row.role} — ${mail}`;
      const revoke = document.createElement('button');
      revoke.type = 'button';
      revoke.className = 'secondary';
      revoke.textContent = 'Revoke';
      revoke.addEventListener('click', async () => {
        try {
          await rest(client.rpc('revoke_invitation', { invitation_id: row.id }));
          await loadProjectInvitations(projectId);
        } catch (error) { showError(error); }
      });
      item.append(text, revoke);
      return item;
    }));
  }

  $('#create-project').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      // The insert trigger makes the creator the owner (the row is readable back at once).
      const project = await rest(client.from('projects').insert({ name: form.get('name') }).select('id').single());
      event.target.reset();
      await loadProjects({ until: project.id });
    } catch (error) { showError(error); }
  });

  $('#accept-invitation').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const projectId = await rest(client.rpc('accept_invitation', { token: form.get('token').trim() }));
      event.target.reset();
      await joined(projectId);
    } catch (error) { showError(error); }
  });

  $('#invite').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const projectId = state.current.id;
    // create_invitation stores the address trimmed and lower-cased.
    const email = String(form.get('email') ?? '').trim().toLowerCase();
    try {
      const token = await rest(client.rpc('create_invitation', { project_id: projectId, email, role: form.get('role') }));
      // The RPC returns only the token; whether it replaced a pending invitation of the
      // same address is on the rows (replaced_by names the new one).
      const rows = await rest(client.from('project_invitations')
        .select('id, replaced_by, accepted_at, revoked_at')
        .eq('project_id', projectId)
        .eq('email', email));
      const current = rows.find((row) => !row.accepted_at && !row.revoked_at);
      const replaced = current && rows.some((row) => row.replaced_by === current.id)
        ? ' It replaces the earlier pending invitation, whose link no longer works.' : '';
      $('#invite-token').textContent =
        `Invitation for ${email} queued to be mailed with its link.${replaced} Token (shown once): ${token}`;
      event.target.reset();
      await loadProjectInvitations(projectId);
    } catch (error) { showError(error); }
  });

  // Section: workspace (presence, events, jobs)

  // Names and avatars come from the member list (profiles under RLS), never from what a
  // client tracks: presence says only which member keys are online.
  const memberName = (userId) => state.members.get(userId)?.display_name || userId;

  function renderOnline() {
    const presence = state.channel?.presenceState() ?? {};
    const online = Object.keys(presence).map((key) => state.members.get(key)).filter(Boolean);
    $('#online').replaceChildren(...online.map((member) => avatarFor(member.user_id, member.display_name, member.avatar_url)));
  }

  function trackPresence(channel) {
    return channel.track({
      user_id: state.user.id,
      display_name: state.profileName,
      avatar_url: state.avatarUrl ?? null,
      online_at: new Date().toISOString(),
    });
  }

  /**
   * Shows a job's row. Rows arrive by three paths that can cross (a read, the submission's
   * answer, job_updated events), so a row older than the one shown (updated_at) is dropped:
   * a read that started before the worker's write must not undo what its event showed.
   */
  function renderJob(job) {
    const known = state.jobs.get(job.id);
    if (known?.updated_at && job.updated_at && Date.parse(job.updated_at) < Date.parse(known.updated_at)) return;
    state.jobs.set(job.id, { ...known, ...job });
    const current = state.jobs.get(job.id);
    let item = document.querySelector(`#jobs li[data-job-id="${job.id}"]`);
    if (!item) {
      item = document.createElement('li');
      item.dataset.jobId = job.id;
      item.innerHTML = '<span class="job-type"></span><div class="progress"><div></div></div><span class="job-status"></span>'
        + '<button type="button" class="job-action secondary" hidden></button>';
      item.querySelector('.job-action').addEventListener('click', () => actOnJob(job.id).catch(showError));
      $('#jobs').prepend(item);
    }
    item.querySelector('.job-type').textContent = current.type;
    item.querySelector('.progress > div').style.width = `${current.progress ?? 0}%`;
    item.querySelector('.progress').dataset.progress = String(current.progress ?? 0);
    item.querySelector('.job-status').textContent = current.status + (current.error ? `: ${current.error}` : '');
    item.dataset.status = current.status;
    // Viewers may do neither; the RPCs decide the rest (own jobs; owners: any).
    const action = item.querySelector('.job-action');
    const verb = jobAction(current.status);
    action.hidden = !verb || state.current?.role === 'viewer';
    action.textContent = verb === 'cancel' ? 'Cancel' : 'Retry';
    action.dataset.action = verb ?? '';
  }

  const jobAction = (status) =>
    status === 'queued' || status === 'running' ? 'cancel' : status === 'failed' || status === 'cancelled' ? 'retry' : null;

  /**
   * Cancels (queued, running) or retries (failed, cancelled) a job with its RPC, then reads
   * the row back: a queued job is cancelled at once, a running one when the worker aborts
   * it (job_updated brings that).
   */
  async function actOnJob(jobId) {
    const verb = jobAction(state.jobs.get(jobId)?.status);
    if (!verb) return;
    await rest(client.rpc(verb === 'cancel' ? 'cancel_job' : 'retry_job', { job_id: jobId }));
    renderJob(await rest(client.from('jobs').select('id, type, status, progress, error, updated_at').eq('id', jobId).single()));
  }

  async function closeWorkspace() {
    if (state.channel) await client.removeChannel(state.channel);
    if (state.events) await client.removeChannel(state.events);
    state.channel = null;
    state.events = null;
    state.current = null;
    state.jobs.clear();
    state.members = new Map();
    $('#workspace').hidden = true;
  }

  async function openWorkspace(project) {
    await closeWorkspace();
    state.current = project;
    $('#workspace').hidden = false;
    $('#workspace-title').textContent = project.name;
    $('#workspace-role').textContent = project.role;
    $('#owner-tools').hidden = project.role !== 'owner';
    $('#submit-job').hidden = project.role === 'viewer';
    $('#jobs').replaceChildren();
    $('#events').replaceChildren();
    $('#online').replaceChildren();
    $('#members').replaceChildren();
    $('#project-invitations').replaceChildren();
    $('#invite-token').textContent = '';
    for (const item of document.querySelectorAll('#projects li')) {
      item.className = item.dataset.projectId === project.id ? 'selected' : '';
    }

    const jobs = await rest(client.from('jobs')
      .select('id, type, status, progress, error, created_at, updated_at')
      .eq('project_id', project.id)
      .order('created_at', { ascending: false })
      .limit(20));
    if (state.current?.id !== project.id) return;
    for (const job of jobs.reverse()) renderJob(job);
    await Promise.all([loadMembers(project.id), project.role === 'owner' ? loadProjectInvitations(project.id) : null]);

    const channel = client.channel(`project:${project.id}`, {
      config: { private: true, presence: { key: state.user.id } },
    });
    state.channel = channel;
    channel
      .on('presence', { event: 'sync' }, renderOnline)
      .on('presence', { event: 'join' }, ({ key }) => {
        logEvent(`${memberName(key)} is online`);
        // Someone (re)joined, perhaps with a new name or avatar: read the profiles again.
        loadMembers(project.id).catch(showError);
      })
      .on('presence', { event: 'leave' }, ({ key }) => {
        logEvent(`${memberName(key)} went offline`);
      })
      .subscribe(async (status, error) => {
        if (status === 'SUBSCRIBED') {
          await trackPresence(channel);
        } else if (status === 'CHANNEL_ERROR') {
          showError(error ?? new Error('could not join the workspace channel'));
        }
      });

    // Server events arrive on their own topic, which no client may write
    // (supabase/migrations/20261202000300_realtime_server_events.sql); they carry ids and
    // statuses only, so details are read through the Data API.
    const events = client.channel(`project:${project.id}:events`, { config: { private: true } });
    state.events = events;
    events
      .on('broadcast', { event: 'job_updated' }, ({ payload }) => renderJob(payload))
      .on('broadcast', { event: 'member_joined' }, ({ payload }) => {
        logEvent(`member ${payload.user_id} joined as ${payload.role}`);
        Promise.all([loadProjects(), loadMembers(project.id), state.current?.role === 'owner' ? loadProjectInvitations(project.id) : null]).catch(showError);
      })
      .on('broadcast', { event: 'member_left' }, ({ payload }) => {
        logEvent(`member ${payload.user_id} left`);
        if (payload.user_id === state.user.id) closeWorkspace().then(loadProjects).catch(showError);
        else Promise.all([loadProjects(), loadMembers(project.id)]).catch(showError);
      })
      .on('broadcast', { event: 'member_role_changed' }, ({ payload }) => {
        logEvent(`member ${payload.user_id} is now ${payload.role}`);
        loadMembers(project.id).catch(showError);
      })
      .on('broadcast', { event: 'project_updated' }, ({ payload }) => {
        logEvent(`project ${payload.fields.join(' and ')} changed`);
        loadProjects()
          .then(() => {
            const current = state.projects.find((candidate) => candidate.id === project.id);
            if (current && state.current?.id === project.id) $('#workspace-title').textContent = current.name;
          })
          .catch(showError);
      })
      .on('broadcast', { event: 'project_deleted' }, () => {
        logEvent('project deleted');
        closeWorkspace().then(loadProjects).catch(showError);
      })
      .subscribe((status, error) => {
        if (status === 'CHANNEL_ERROR') showError(error ?? new Error('could not join the workspace events'));
      });
  }

  // Submission stays a function: it checks the payload against the job catalog, rate-limits
  // and enqueues the job for the worker after the row commits (docs/worker.md).
  $('#submit-job').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const job = await api('jobs', {
        method: 'POST',
        body: { project_id: state.current.id, type: 'diagnostic.sleep', payload: { ms: Number(form.get('ms')) } },
      });
      renderJob(job);
    } catch (error) { showError(error); }
  });
})();
